//! Full-text search over the messages a user may read: the query is
//! parsed into terms once ([`natter_store::search::parse`]), the store
//! finds and ranks the messages, and the matches are marked in a snippet
//! of each hit here, with the same folding the index uses (case, and
//! accents: `cafe` marks `Café`).

use crate::auth::Claims;
use crate::error::{DomainError, Result};
use crate::state::AppState;
use natter_proto::{SearchHit, SearchPage, SearchQuery};
use natter_store::search::{MAX_QUERY_CHARS, Term, parse};
use natter_store::{SearchRequest, StoreError};
use std::ops::Range;
use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

/// Hits per page when the query does not say.
const DEFAULT_LIMIT: u32 = 20;
/// Most hits per page.
const MAX_LIMIT: u32 = 50;
/// How deep paging goes (hits skipped).
const MAX_OFFSET: u32 = 1000;
/// A snippet's length around the first match, in characters.
const SNIPPET_CHARS: usize = 160;
/// Characters kept before the first match in a cut snippet.
const LEAD_CHARS: usize = 40;

/// Runs a search for the caller.
pub async fn search(state: &AppState, claims: &Claims, q: SearchQuery) -> Result<SearchPage> {
    let text = q.q.trim_start();
    let chars = text.chars().count();
    if text.trim().is_empty() || chars > MAX_QUERY_CHARS {
        return Err(DomainError::Invalid(format!(
            "q is 1 to {MAX_QUERY_CHARS} characters"
        )));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(DomainError::Invalid(format!("limit is 1 to {MAX_LIMIT}")));
    }
    let offset = match q.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => c
            .parse::<u32>()
            .ok()
            .filter(|o| *o <= MAX_OFFSET)
            .ok_or_else(|| DomainError::Invalid("cursor is a next from an earlier page".into()))?,
    };
    let (has_file, has_link) = match q.has.as_deref() {
        None | Some("") => (false, false),
        Some("file") => (true, false),
        Some("link") => (false, true),
        Some(_) => return Err(DomainError::Invalid("has is file or link".into())),
    };
    let terms = parse(text);
    if terms.is_empty() {
        // Only punctuation: nothing can contain no word.
        return Ok(SearchPage {
            results: Vec::new(),
            next: None,
        });
    }
    let rows = state
        .store
        .search(SearchRequest {
            viewer: claims.user,
            terms: terms.clone(),
            conv: q.conv,
            from: q.from,
            after: q.after,
            before: q.before,
            has_file,
            has_link,
            mentions_me: q.mentions_me,
            in_thread: q.in_thread,
            offset,
            // One more than asked says whether there is a next page.
            limit: limit + 1,
        })
        .await
        .map_err(|e| match e {
            StoreError::NotMember => DomainError::NotMember,
            other => other.into(),
        })?;
    let more = rows.len() > limit as usize;
    let results = rows
        .into_iter()
        .take(limit as usize)
        .map(|r| {
            let (snippet, highlights) = snippet(&r.text, &terms);
            SearchHit {
                conv: r.conv,
                seq: r.seq,
                ts: r.ts,
                sender: r.sender,
                snippet,
                highlights,
                thread: r.thread,
            }
        })
        .collect();
    let next = (more && offset + limit <= MAX_OFFSET).then(|| (offset + limit).to_string());
    Ok(SearchPage { results, next })
}

/// Lower case without accents, as the index compares words.
fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where the terms occur in `text` (byte ranges, in order, not
/// overlapping).
fn matches(text: &str, terms: &[Term]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    // Words: runs of letters and digits outside spaceless scripts.
    let mut start = None;
    let mut words = Vec::new();
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let in_word = c.is_alphanumeric() && !natter_store::search::spaceless(c);
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                words.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    let wanted: Vec<(String, bool)> = terms
        .iter()
        .filter_map(|t| match t {
            Term::Word { text, prefix } => Some((fold(text), *prefix)),
            Term::Characters(_) => None,
        })
        .collect();
    for w in words {
        let folded = fold(&text[w.clone()]);
        if wanted
            .iter()
            .any(|(t, prefix)| folded == *t || (*prefix && folded.starts_with(t.as_str())))
        {
            found.push(w);
        }
    }
    for t in terms {
        if let Term::Characters(chars) = t {
            let needle: String = chars.iter().collect();
            found.extend(
                text.match_indices(needle.as_str())
                    .map(|(i, m)| i..i + m.len()),
            );
        }
    }
    found.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in found {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    merged
}

/// The text, cut around its first match when long, and the matches in it.
fn snippet(text: &str, terms: &[Term]) -> (String, Vec<[u32; 2]>) {
    let found = matches(text, terms);
    let count = text.chars().count();
    if count <= SNIPPET_CHARS {
        let marks = found
            .iter()
            .map(|r| [r.start as u32, r.end as u32])
            .collect();
        return (text.to_owned(), marks);
    }
    // Character positions to byte positions.
    let bytes: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let first_char = found
        .first()
        .map_or(0, |r| bytes.partition_point(|&b| b < r.start));
    let from = first_char
        .saturating_sub(LEAD_CHARS)
        .min(count - SNIPPET_CHARS);
    let to = from + SNIPPET_CHARS;
    let (start, end) = (bytes[from], bytes[to]);
    let lead = if from > 0 { "…" } else { "" };
    let tail = if to < count { "…" } else { "" };
    let out = format!("{lead}{}{tail}", &text[start..end]);
    let shift = lead.len();
    let marks = found
        .iter()
        .filter(|r| r.start >= start && r.end <= end)
        .map(|r| {
            [
                (r.start - start + shift) as u32,
                (r.end - start + shift) as u32,
            ]
        })
        .collect();
    (out, marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(text: &str, q: &str) -> Vec<String> {
        let (s, marks) = snippet(text, &parse(q));
        marks
            .iter()
            .map(|[a, b]| s[*a as usize..*b as usize].to_owned())
            .collect()
    }

    #[test]
    fn matches_are_marked_with_folded_case_accents_and_prefixes() {
        assert_eq!(marked("Meet at the CAFÉ, café!", "cafe"), ["CAFÉ", "café"]);
        assert_eq!(
            marked("reporting the report", "rep"),
            ["reporting", "report"]
        );
        assert_eq!(marked("reporting the report", "report "), ["report"]);
        assert_eq!(marked("東京タワーに行きました", "京タ"), ["京タ"]);
        assert!(marked("nothing here", "zebra").is_empty());
    }

    #[test]
    fn long_texts_are_cut_around_the_first_match() {
        let text = format!("{} needle {}", "å".repeat(300), "b ".repeat(200));
        let (s, marks) = snippet(&text, &parse("needle "));
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert_eq!(s.chars().count(), SNIPPET_CHARS + 2);
        assert_eq!(marks.len(), 1);
        let [a, b] = marks[0];
        assert_eq!(&s[a as usize..b as usize], "needle");
        // A match at the very end keeps the snippet full length.
        let end = format!("{} needle", "x ".repeat(200));
        let (s, marks) = snippet(&end, &parse("needle"));
        assert!(s.starts_with('…') && !s.ends_with('…'));
        assert_eq!(marks.len(), 1);
    }
}
