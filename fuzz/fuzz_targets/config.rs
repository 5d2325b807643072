//! The center configuration file (`luot-proto::config::parse_config`), which managers edit by
//! hand and upload through the admin page.
//!
//! Oracle: no panic; an error names at least one problem; a configuration that parses is written
//! back by `to_toml` into text that parses to the same configuration (the property the admin
//! page's editor relies on), and each of its sites makes a core `Site` whose invariants hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use luot_proto::config::{parse_config, to_toml};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    match parse_config(source, "fuzz.toml") {
        Ok(cfg) => {
            let text = to_toml(&cfg);
            let again = parse_config(&text, "written.toml")
                .unwrap_or_else(|e| panic!("to_toml wrote what parse_config refuses: {e}\n{text}"));
            assert_eq!(again, cfg, "to_toml changed the configuration:\n{text}");
            for site in &cfg.sites {
                luot_core::Site::new(site.core.clone())
                    .check_invariants()
                    .unwrap_or_else(|e| panic!("site {}: {e}", site.core.code.as_str()));
            }
        }
        Err(e) => assert!(!e.to_string().is_empty(), "an empty error"),
    }
});
