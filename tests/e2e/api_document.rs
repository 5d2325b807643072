//! The check every answer goes through (`luot_tests::openapi_check`) catches a server and a
//! document that drift apart: a body off its schema, an undocumented status, media type or path.

use luot_tests::openapi_check::check;
use luot_tests::{SITE, TestServer};

#[tokio::test]
async fn an_answer_off_the_document_is_caught() {
    let s = TestServer::start().await;
    let r = s
        .http()
        .get(&format!("/api/v1/sites/{SITE}/snapshot"))
        .await;
    assert_eq!(r.status, 200);
    let path = format!("/api/v1/sites/{SITE}/snapshot");
    let json = Some("application/json");
    // The real answer passes (as every answer of every e2e test does).
    check("GET", &path, 200, json, &r.text).unwrap();

    // A value the schema does not allow.
    let drifted = r
        .text
        .replacen("\"counters\":[", "\"counters\":[{\"code\":7},", 1);
    let e = check("GET", &path, 200, json, &drifted).unwrap_err();
    assert!(
        e.contains("does not match") && e.contains("/snapshot/counters/0"),
        "{e}"
    );
    // A status, a media type and a path the document does not list.
    let e = check("POST", "/api/v1/logout", 418, json, "{}").unwrap_err();
    assert!(e.contains("status 418 is not among"), "{e}");
    let e = check("GET", "/metrics", 200, Some("text/html"), "<p>").unwrap_err();
    assert!(e.contains("media type \"text/html\""), "{e}");
    let e = check("GET", "/api/v1/nowhere", 200, json, "{}").unwrap_err();
    assert!(e.contains("not in the document"), "{e}");
}
