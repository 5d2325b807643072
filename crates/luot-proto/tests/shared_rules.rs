//! Ticket numbers and dossier codes read as the web clients read them: the vectors of
//! tests/fixtures/ are checked here against luot-core and in tests/browser/rules.test.mjs against
//! kiosk-assets/js/rules.js, so the counter console refuses exactly what the server refuses.

use luot_core::TicketNumber;
use luot_core::site::check_dossier;

fn vectors(text: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["vectors"].as_array().unwrap().clone()
}

#[test]
fn ticket_numbers_match_the_shared_vectors() {
    let v = vectors(include_str!("../../../tests/fixtures/ticket-numbers.json"));
    assert!(v.len() >= 20);
    for x in &v {
        let input = x["input"].as_str().unwrap();
        let got = TicketNumber::parse(input).map(|n| n.to_string());
        assert_eq!(got.as_deref(), x["number"].as_str(), "{input:?}");
    }
}

#[test]
fn dossier_codes_match_the_shared_vectors() {
    let v = vectors(include_str!("../../../tests/fixtures/dossier-codes.json"));
    assert!(v.len() >= 10);
    for x in &v {
        let input = x["input"].as_str().unwrap();
        let got = check_dossier(input).ok();
        assert_eq!(got.as_deref(), x["dossier"].as_str(), "{input:?}");
    }
}
