//! The server's TOML configuration file, read as `natter serve --config`
//! does, then validated.
//!
//! Checks: neither reading nor `validate()` panics, whatever the file says;
//! a configuration that validates prints (as `--print-config` does) to TOML
//! that reads back to the same configuration, which validates too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use natter_server::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = toml::from_str::<Config>(text) else {
        return;
    };
    if config.validate().is_err() {
        return;
    }
    let printed = toml::to_string_pretty(&config).expect("a valid configuration prints");
    let back: Config = toml::from_str(&printed).expect("printed configuration reads back");
    assert_eq!(format!("{config:?}"), format!("{back:?}"), "{printed}");
    assert!(back.validate().is_ok());
});
