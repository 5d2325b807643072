//! Voice clips replaced from the administration pages: over real HTTP, a real data folder and a
//! restart; refusals leave everything as it was; hall displays are told to reload.

use luot_server::clips::{CLIP_BYTES_MAX, PHRASES_MAX};
use luot_tests::{PASSWORD, TestServer, Who, within};
use serde_json::{Value, json};

const BUILT_IN_INVITE: &[u8] = include_bytes!("../../kiosk-assets/audio/vi/invite.ogg");
const EN_INVITE: &[u8] = include_bytes!("../../kiosk-assets/audio/en/invite.ogg");
const CHIME: &[u8] = include_bytes!("../../kiosk-assets/audio/chime.ogg");
const MANIFEST: &str = include_str!("../../kiosk-assets/audio/manifest.json");
/// 11.0 s and 10.0 s of a tone, Ogg Vorbis (sox + oggenc -q -1).
const ELEVEN_SECONDS: &[u8] = include_bytes!("../fixtures/clip-11s.ogg");
const TEN_SECONDS: &[u8] = include_bytes!("../fixtures/clip-10s.ogg");

struct Raw {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }
}

/// One request with exactly these credentials and Origin; the body as bytes.
async fn raw(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    session: Option<&str>,
    origin: Option<&str>,
    body: Option<Vec<u8>>,
) -> Raw {
    let mut req = reqwest::Client::new().request(method.clone(), s.url(path));
    if let Some(t) = session {
        req = req.header("cookie", format!("luot_session={t}"));
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    if let Some(b) = body {
        req = req.header("content-type", "audio/ogg").body(b);
    }
    let what = format!("{method} {path}");
    let res = within(&what, req.send()).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = within(&what, res.bytes()).await.unwrap().to_vec();
    Raw {
        status,
        headers,
        body,
    }
}

async fn get(s: &TestServer, path: &str) -> Raw {
    raw(s, reqwest::Method::GET, path, None, None, None).await
}

async fn put(s: &TestServer, path: &str, who: &str, bytes: &[u8]) -> Raw {
    raw(
        s,
        reqwest::Method::PUT,
        path,
        Some(who),
        None,
        Some(bytes.to_vec()),
    )
    .await
}

async fn delete(s: &TestServer, path: &str, who: &str) -> Raw {
    raw(s, reqwest::Method::DELETE, path, Some(who), None, None).await
}

async fn list(s: &TestServer, who: &str) -> Value {
    let r = raw(
        s,
        reqwest::Method::GET,
        "/api/v1/admin/clips",
        Some(who),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn clip<'a>(list: &'a Value, lang: Option<&str>, name: &str) -> &'a Value {
    list["clips"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lang"].as_str() == lang && c["name"] == name)
        .unwrap_or_else(|| panic!("{lang:?}/{name} not listed"))
}

fn audit(s: &TestServer) -> Vec<(String, String, String)> {
    let db = rusqlite::Connection::open_with_flags(
        s.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let mut st = db
        .prepare("SELECT actor, action, detail FROM audit WHERE action LIKE 'clip_%' ORDER BY id")
        .unwrap();
    st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

async fn session(s: &TestServer, admin: &luot_tests::Http, login: &str, role: &str) -> String {
    let r = admin
        .post(
            "/api/v1/admin/users",
            &json!({"login": login, "display_name": login, "role": role, "password": PASSWORD,
                    "counters": if role == "official" { json!(["quay-1"]) } else { json!([]) }}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    s.login(login, PASSWORD).await.1
}

#[tokio::test]
async fn a_manager_replaces_a_clip_that_displays_then_play_until_it_is_put_back() {
    let mut s = TestServer::start().await;
    let admin = s.admin().await;
    let manager = session(&s, &admin, "quan-ly", "manager").await;
    let official = session(&s, &admin, "can-bo", "official").await;
    let invite = "/api/v1/admin/clips/vi/invite";
    assert_eq!(get(&s, "/audio/vi/invite.ogg").await.body, BUILT_IN_INVITE);
    // Built-in clips are cached for a day, except the chime: the phone page fetches it without
    // a version, so it revalidates.
    let r = get(&s, "/audio/vi/invite.ogg").await;
    assert_eq!(r.headers["cache-control"], "public, max-age=86400");
    assert_eq!(
        get(&s, "/audio/chime.ogg").await.headers["cache-control"],
        "no-cache"
    );

    // Every clip of the manifest is listed, with its text, built-in.
    let l = list(&s, &manager).await;
    let m: Value = serde_json::from_str(MANIFEST).unwrap();
    let per_lang = |lang: &str| m["languages"][lang]["clips"].as_object().unwrap().len();
    assert_eq!(
        l["clips"].as_array().unwrap().len(),
        1 + per_lang("vi") + per_lang("en")
    );
    assert_eq!(l["languages"], json!(["vi", "en"]));
    assert_eq!(l["limits"]["bytes_max"], CLIP_BYTES_MAX);
    let c = clip(&l, Some("vi"), "invite");
    assert_eq!(c["text"], "Mời công dân có số thứ tự");
    assert_eq!(c["url"], "/audio/vi/invite.ogg");
    assert!(c["replaced"].is_null());
    assert!(clip(&l, None, "chime")["replaced"].is_null());

    // Refusals, each naming the problem in both languages; nothing changes.
    let mut flipped = BUILT_IN_INVITE.to_vec();
    flipped[100] ^= 1;
    let at_limit = vec![0u8; CLIP_BYTES_MAX];
    let over_limit = vec![0u8; CLIP_BYTES_MAX + 1];
    let cases: Vec<(&str, &[u8], u16, &str, &str)> = vec![
        (
            invite,
            b"RIFF\x24\0\0\0WAVEfmt ",
            422,
            "clip_not_ogg",
            "OggS",
        ),
        (invite, b"", 422, "clip_empty", "empty"),
        (invite, &flipped, 422, "clip_damaged", "byte 58"),
        (invite, ELEVEN_SECONDS, 422, "clip_too_long", "11.0 s"),
        // At the size limit the size is fine (the content is judged next); one byte over is not.
        (invite, &at_limit, 422, "clip_not_ogg", "OggS"),
        (invite, &over_limit, 413, "clip_too_large", "524288 bytes"),
        (
            "/api/v1/admin/clips/vi/nope",
            EN_INVITE,
            404,
            "clip_unknown",
            "nope",
        ),
        (
            "/api/v1/admin/clips/vi/letter_aa",
            EN_INVITE,
            404,
            "clip_unknown",
            "letter_aa",
        ),
        (
            "/api/v1/admin/clips/fr/invite",
            EN_INVITE,
            404,
            "clip_language",
            "fr",
        ),
        (
            "/api/v1/admin/clips/VI/invite",
            EN_INVITE,
            404,
            "clip_language",
            "VI",
        ),
    ];
    for (path, bytes, status, code, says) in cases {
        let r = put(&s, path, &manager, bytes).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{path} {code}"
        );
        let e = r.json();
        assert!(
            e["message_en"].as_str().unwrap().contains(says),
            "{code}: {e}"
        );
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
    let r = put(&s, invite, &official, EN_INVITE).await;
    assert_eq!((r.status, r.code().as_str()), (403, "forbidden"));
    let r = raw(
        &s,
        reqwest::Method::PUT,
        invite,
        None,
        None,
        Some(EN_INVITE.to_vec()),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (401, "login_required"));
    let r = raw(
        &s,
        reqwest::Method::GET,
        "/api/v1/admin/clips",
        Some(&official),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = raw(
        &s,
        reqwest::Method::PUT,
        invite,
        Some(&manager),
        Some("http://evil.example"),
        Some(EN_INVITE.to_vec()),
    )
    .await;
    assert_eq!((r.status, r.code().as_str()), (403, "origin_refused"));
    let r = delete(&s, invite, &official).await;
    assert_eq!(r.status, 403);
    assert_eq!(get(&s, "/audio/vi/invite.ogg").await.body, BUILT_IN_INVITE);
    assert!(clip(&list(&s, &manager).await, Some("vi"), "invite")["replaced"].is_null());
    assert!(audit(&s).is_empty(), "{:?}", audit(&s));
    assert!(
        !s.db_path()
            .parent()
            .unwrap()
            .join("clips/vi/invite.ogg")
            .exists()
    );

    // A connected hall display is told to reload.
    let mut display = s.ws("display", Who::Device(&s.first.display_token)).await;

    let r = put(&s, invite, &manager, EN_INVITE).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let c = r.json();
    let version = c["replaced"]["version"].as_str().unwrap().to_string();
    assert_eq!(c["replaced"]["bytes"], EN_INVITE.len());
    assert_eq!(c["replaced"]["codec"], "vorbis");
    assert_eq!(c["replaced"]["uploaded_by"], "quan-ly");
    assert_eq!(c["url"], format!("/audio/vi/invite.ogg?v={version}"));
    let ms = c["replaced"]["duration_ms"].as_u64().unwrap();
    assert!((500..3000).contains(&ms), "{ms}");
    let m = display.recv().await;
    assert_eq!(m["type"], "config", "{m}");

    // Served at the announcer's URL, with or without the version, never from a stale cache.
    for path in [
        "/audio/vi/invite.ogg".to_string(),
        format!("/audio/vi/invite.ogg?v={version}"),
    ] {
        let r = get(&s, &path).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, EN_INVITE, "{path}");
        assert_eq!(r.headers["content-type"], "audio/ogg");
        assert_eq!(r.headers["cache-control"], "no-cache");
        assert_eq!(r.headers["etag"], format!("\"{version}\"").as_str());
    }
    let manifest = get(&s, "/audio/manifest.json").await.json();
    assert_eq!(manifest["replaced"], json!({"vi/invite.ogg": version}));
    assert_eq!(
        manifest["languages"]["vi"]["clips"]["invite"],
        "Mời công dân có số thứ tự"
    );
    // The English clip of the same name is untouched.
    assert_eq!(get(&s, "/audio/en/invite.ogg").await.body, EN_INVITE);

    // Exactly 10 s is accepted; the chime too.
    let r = put(
        &s,
        "/api/v1/admin/clips/vi/to_counter",
        &manager,
        TEN_SECONDS,
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["replaced"]["duration_ms"], 10_000);
    let r = delete(&s, "/api/v1/admin/clips/vi/to_counter", &manager).await;
    assert_eq!(r.status, 200);
    assert!(r.json()["replaced"].is_null());
    let r = put(&s, "/api/v1/admin/clips/chime", &manager, BUILT_IN_INVITE).await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&s, "/audio/chime.ogg").await.body, BUILT_IN_INVITE);

    // Kept in the data folder across a restart.
    let data = s.db_path().parent().unwrap().to_path_buf();
    assert_eq!(
        std::fs::read(data.join("clips/vi/invite.ogg")).unwrap(),
        EN_INVITE
    );
    // A file damaged in the data folder while the server was down is left out at start: the
    // built-in clip plays.
    std::fs::write(data.join("clips/vi/to_counter.ogg"), b"OggS damaged").unwrap();
    s.restart().await;
    let manager = s.login("quan-ly", PASSWORD).await.1;
    assert_eq!(get(&s, "/audio/vi/invite.ogg").await.body, EN_INVITE);
    let built_in_to_counter = include_bytes!("../../kiosk-assets/audio/vi/to_counter.ogg");
    assert_eq!(
        get(&s, "/audio/vi/to_counter.ogg").await.body,
        built_in_to_counter
    );
    assert_eq!(get(&s, "/audio/chime.ogg").await.body, BUILT_IN_INVITE);
    let l = list(&s, &manager).await;
    let c = clip(&l, Some("vi"), "invite");
    assert_eq!(c["replaced"]["uploaded_by"], "quan-ly");
    assert_eq!(c["replaced"]["version"], version.as_str());
    assert!(clip(&l, Some("vi"), "to_counter")["replaced"].is_null());

    // Put back: the built-in bytes again; a second time changes nothing.
    for _ in 0..2 {
        let r = delete(&s, invite, &manager).await;
        assert_eq!(r.status, 200);
        assert!(r.json()["replaced"].is_null());
    }
    assert_eq!(get(&s, "/audio/vi/invite.ogg").await.body, BUILT_IN_INVITE);
    let r = delete(&s, "/api/v1/admin/clips/chime", &manager).await;
    assert_eq!(r.status, 200);
    assert_eq!(get(&s, "/audio/chime.ogg").await.body, CHIME);
    assert_eq!(
        get(&s, "/audio/manifest.json").await.json()["replaced"],
        json!({})
    );
    assert!(!data.join("clips/vi/invite.ogg").exists());

    // Every change audited: who, what.
    let a = audit(&s);
    let actions: Vec<(&str, &str)> = a
        .iter()
        .map(|(who, what, _)| (who.as_str(), what.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("quan-ly", "clip_replace"),
            ("quan-ly", "clip_replace"),
            ("quan-ly", "clip_restore"),
            ("quan-ly", "clip_replace"),
            ("quan-ly", "clip_restore"),
            ("quan-ly", "clip_restore"),
        ]
    );
    assert!(
        a[0].2
            .starts_with(&format!("vi/invite.ogg {} B", EN_INVITE.len())),
        "{}",
        a[0].2
    );
    assert!(a[0].2.contains(&version), "{}", a[0].2);
    assert_eq!(a[2].2, "vi/to_counter.ogg");
    assert!(a[3].2.starts_with("chime.ogg"), "{}", a[3].2);
    assert_eq!(a[5].2, "chime.ogg");
}

fn q(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[tokio::test]
async fn a_manager_adds_phrase_clips_for_a_template_of_their_own_up_to_the_limit() {
    let mut s = TestServer::start().await;
    let admin = s.admin().await;
    let manager = session(&s, &admin, "quan-ly", "manager").await;
    let phrase = |name: &str, text: &str| format!("/api/v1/admin/clips/vi/{name}?text={}", q(text));

    let r = put(
        &s,
        &phrase("xin_moi", "  Xin mời công dân số  "),
        &manager,
        BUILT_IN_INVITE,
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let c = r.json();
    assert_eq!(
        (c["custom"].clone(), c["text"].clone()),
        (json!(true), json!("Xin mời công dân số"))
    );
    let version = c["replaced"]["version"].as_str().unwrap().to_string();
    // The announcer sees it as one more phrase of the Vietnamese voice.
    let m = get(&s, "/audio/manifest.json").await.json();
    assert_eq!(
        m["languages"]["vi"]["clips"]["xin_moi"],
        "Xin mời công dân số"
    );
    assert!(m["languages"]["en"]["clips"].get("xin_moi").is_none());
    assert_eq!(m["replaced"]["vi/xin_moi.ogg"], version.as_str());
    assert_eq!(get(&s, "/audio/vi/xin_moi.ogg").await.body, BUILT_IN_INVITE);

    // Refusals name the problem; nothing is stored.
    let cases: Vec<(String, u16, &str, &str)> = vec![
        // Another clip already says it (compared as the announcer does: case, punctuation).
        (
            phrase("moi", "mời công dân, có số thứ tự!"),
            409,
            "clip_text_taken",
            "invite",
        ),
        (
            phrase("moi", "XIN MỜI công dân số"),
            409,
            "clip_text_taken",
            "xin_moi",
        ),
        (
            phrase("moi", " … "),
            400,
            "clip_text_invalid",
            "needs words",
        ),
        (
            phrase("moi", &"a".repeat(101)),
            400,
            "clip_text_invalid",
            "100 characters",
        ),
        (
            phrase("letter_zz", "zét zét"),
            400,
            "clip_name_invalid",
            "letter_",
        ),
        (phrase("Moi", "tới"), 400, "clip_name_invalid", "Moi"),
        (phrase("chime", "tới"), 400, "clip_name_invalid", "chime"),
        (
            phrase("invite", "Mời anh chị"),
            400,
            "clip_text_fixed",
            "Mời công dân có số thứ tự",
        ),
        (
            "/api/v1/admin/clips/chime?text=ding".into(),
            400,
            "clip_text_fixed",
            "chime",
        ),
        (
            "/api/v1/admin/clips/vi/moi?txt=t%E1%BB%9Bi".into(),
            400,
            "invalid_field",
            "txt",
        ),
        (
            "/api/v1/admin/clips/vi/moi".into(),
            404,
            "clip_unknown",
            "send its text",
        ),
    ];
    for (path, status, code, says) in &cases {
        let r = put(&s, path, &manager, EN_INVITE).await;
        assert_eq!((r.status, r.code().as_str()), (*status, *code), "{path}");
        assert!(
            r.json()["message_en"].as_str().unwrap().contains(says),
            "{path}: {}",
            r.json()
        );
    }
    assert_eq!(get(&s, "/audio/vi/moi.ogg").await.status, 404);

    // Re-recorded without a text it keeps its text; with one, the text changes.
    let r = put(&s, "/api/v1/admin/clips/vi/xin_moi", &manager, EN_INVITE).await;
    assert_eq!(
        (r.status, r.json()["text"].clone()),
        (200, json!("Xin mời công dân số"))
    );
    let r = put(
        &s,
        &phrase("xin_moi", "Xin mời công dân mang số"),
        &manager,
        EN_INVITE,
    )
    .await;
    assert_eq!(
        (r.status, r.json()["text"].clone()),
        (200, json!("Xin mời công dân mang số"))
    );

    // At most PHRASES_MAX per language: the last one fits, one more does not.
    for i in 1..PHRASES_MAX {
        let r = put(
            &s,
            &phrase(&format!("cau_{i}"), &format!("câu số {i}")),
            &manager,
            CHIME,
        )
        .await;
        assert_eq!(
            r.status,
            201,
            "phrase {i}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    let r = put(&s, &phrase("cau_extra", "một câu nữa"), &manager, CHIME).await;
    assert_eq!((r.status, r.code().as_str()), (409, "clip_too_many"));
    // Other languages have their own count.
    let r = put(
        &s,
        "/api/v1/admin/clips/en/welcome?text=Welcome",
        &manager,
        EN_INVITE,
    )
    .await;
    assert_eq!(r.status, 201);

    // Kept across a restart; removed entirely by DELETE.
    s.restart().await;
    let manager = s.login("quan-ly", PASSWORD).await.1;
    let l = list(&s, &manager).await;
    assert_eq!(
        clip(&l, Some("vi"), "xin_moi")["text"],
        "Xin mời công dân mang số"
    );
    assert_eq!(clip(&l, Some("vi"), "xin_moi")["custom"], true);
    assert_eq!(clip(&l, Some("vi"), "invite")["custom"], false);
    let r = delete(&s, "/api/v1/admin/clips/vi/xin_moi", &manager).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"lang": "vi", "name": "xin_moi", "removed": true})
    );
    let r = delete(&s, "/api/v1/admin/clips/vi/xin_moi", &manager).await;
    assert_eq!((r.status, r.code().as_str()), (404, "clip_unknown"));
    assert!(
        get(&s, "/audio/manifest.json").await.json()["languages"]["vi"]["clips"]
            .get("xin_moi")
            .is_none()
    );
    assert_eq!(get(&s, "/audio/vi/xin_moi.ogg").await.status, 404);
    // With one removed, there is room for one more.
    let r = put(&s, &phrase("cau_extra", "một câu nữa"), &manager, CHIME).await;
    assert_eq!(r.status, 201);

    let a = audit(&s);
    let actions: Vec<&str> = a.iter().map(|(_, what, _)| what.as_str()).collect();
    assert_eq!(actions[0], "clip_add");
    assert!(a[0].2.ends_with("“Xin mời công dân số”"), "{}", a[0].2);
    assert_eq!(&actions[1..3], ["clip_replace", "clip_replace"]);
    assert_eq!(
        actions.iter().filter(|a| **a == "clip_add").count(),
        1 + (PHRASES_MAX - 1) + 1 + 1
    );
    assert_eq!(
        a[a.len() - 2],
        (
            "quan-ly".into(),
            "clip_remove".into(),
            "vi/xin_moi.ogg".into()
        )
    );
}
