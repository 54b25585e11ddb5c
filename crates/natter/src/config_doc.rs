//! docs/configuration.md, generated from the configuration type itself: the
//! sections and keys of `natter_server::config`, the doc comment of each,
//! and the value `Config::default()` gives it. A test compares the file
//! with what this makes, so the reference cannot drift from the code; run
//! it with `NATTER_BLESS=1` to rewrite the file after changing the config.

use natter_server::Config;

/// The configuration module's source, read for its doc comments.
const SOURCE: &str = include_str!("../../server/src/config.rs");

/// One `pub struct` of the module: its doc and its fields.
struct Section {
    name: String,
    doc: String,
    fields: Vec<Field>,
}

struct Field {
    name: String,
    ty: String,
    doc: String,
}

/// Every `pub struct` in the source, in order, with the doc comments of it
/// and of its `pub` fields.
fn sections(source: &str) -> Vec<Section> {
    let mut out = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    let mut current: Option<Section> = None;
    for line in source.lines() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d));
            continue;
        }
        if t.starts_with("#[") {
            continue;
        }
        if let Some(rest) = t.strip_prefix("pub struct ") {
            let name = rest.trim_end_matches('{').trim().to_owned();
            current = Some(Section {
                name,
                doc: doc.join(" "),
                fields: Vec::new(),
            });
        } else if let (Some(sec), Some(rest)) = (current.as_mut(), t.strip_prefix("pub ")) {
            if let Some((name, ty)) = rest.split_once(':') {
                sec.fields.push(Field {
                    name: name.trim().to_owned(),
                    ty: ty.trim().trim_end_matches(',').to_owned(),
                    doc: doc.join(" "),
                });
            }
        } else if t == "}"
            && let Some(sec) = current.take()
        {
            out.push(sec);
        }
        doc.clear();
    }
    out
}

/// A default as TOML writes it.
fn value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// The reference, as docs/configuration.md holds it.
pub fn reference() -> String {
    let all = sections(SOURCE);
    let defaults = toml::Value::try_from(Config::default()).expect("the defaults serialise");
    let top = all
        .iter()
        .find(|s| s.name == "Config")
        .expect("the module defines Config");
    let mut md = String::from(
        "# Configuration\n\n\
         <!-- Generated from crates/server/src/config.rs by the test in\n\
         crates/natter/src/config_doc.rs; edit the doc comments there and run\n\
         `NATTER_BLESS=1 cargo test -p natter config_doc` to rewrite this file. -->\n\n\
         `natter serve` reads its settings from, in rising order of precedence:\n\
         the defaults below, a TOML file (`--config FILE` or `NATTER_CONFIG`),\n\
         the environment (`NATTER_LISTEN`, `NATTER_DATA_DIR`), and the flags\n\
         (`--listen`, `--data-dir`). Every key is optional; a key the server\n\
         does not know, or a value out of range, stops it at start with a\n\
         message naming each problem. `natter serve --print-config` prints the\n\
         effective configuration, every key included, and exits.\n\n\
         A file need only hold what differs from the defaults:\n\n\
         ```toml\n\
         listen = \"0.0.0.0:7878\"\n\
         data_dir = \"/var/lib/natter\"\n\n\
         [limits]\n\
         max_group_members = 5000\n\
         ```\n\n\
         ## Top level\n\n\
         | key | default | meaning |\n|---|---|---|\n",
    );
    let mut tables = Vec::new();
    for f in &top.fields {
        match all.iter().find(|s| s.name == f.ty) {
            Some(section) => tables.push((f, section)),
            None => md.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                f.name,
                value(&defaults[f.name.as_str()]),
                f.doc
            )),
        }
    }
    for (f, section) in tables {
        // The section type's own doc says more than the field's one line.
        let about = if section.doc.is_empty() {
            &f.doc
        } else {
            &section.doc
        };
        md.push_str(&format!("\n## `[{}]`\n\n{about}", f.name));
        md.push_str("\n\n| key | default | meaning |\n|---|---|---|\n");
        let table = &defaults[f.name.as_str()];
        for k in &section.fields {
            md.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                k.name,
                value(&table[k.name.as_str()]),
                k.doc
            ));
        }
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/configuration.md");

    #[test]
    fn docs_configuration_md_is_generated_from_the_config_type() {
        let want = reference();
        if std::env::var_os("NATTER_BLESS").is_some() {
            std::fs::write(PATH, &want).expect("write docs/configuration.md");
            return;
        }
        let have = std::fs::read_to_string(PATH).unwrap_or_default();
        assert!(
            have == want,
            "docs/configuration.md is out of date with crates/server/src/config.rs; \
             rewrite it with NATTER_BLESS=1 cargo test -p natter config_doc"
        );
    }

    #[test]
    fn every_key_print_config_prints_is_in_the_reference() {
        let doc = reference();
        let printed = toml::Value::try_from(Config::default()).unwrap();
        let table = printed.as_table().unwrap();
        assert!(table.len() >= 9, "{table:?}");
        for (key, v) in table {
            match v.as_table() {
                Some(inner) => {
                    let head = format!("## `[{key}]`");
                    let start = doc.find(&head).unwrap_or_else(|| panic!("section {key}"));
                    let rest = &doc[start + head.len()..];
                    let section = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
                    for k in inner.keys() {
                        assert!(section.contains(&format!("| `{k}` |")), "{key}.{k}");
                    }
                }
                None => assert!(doc.contains(&format!("| `{key}` |")), "{key}"),
            }
        }
        // Each key has something to say.
        for line in doc.lines().filter(|l| l.starts_with("| `")) {
            assert!(!line.ends_with("|  |"), "undocumented: {line}");
        }
    }
}
