//! Driving the sportello over HTTP as a browser would, without one: a SPID login through the
//! `SpidWeb` chooser, the ente's in-process test IdP and the ACS.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A client that follows no redirects (the test reads each hop).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The text of the page at `url`, asked with the `Cookie` header `cookie`.
pub async fn page(url: &str, cookie: &str) -> String {
    http()
        .get(url)
        .header(COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// `name=value` of the `Set-Cookie` named `name`.
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .find(|kv| kv.starts_with(&format!("{name}=")))
}

/// The value of the first `name="…" value="…"` input, HTML-unescaped for the characters the
/// portal escapes.
pub fn input(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    unescape(&rest[..rest.find('"').unwrap()])
}

/// The `action` of the first form, made absolute against `base`'s origin.
pub fn form_action(html: &str, base: &str) -> String {
    let at = html.find("action=\"").expect("a form") + 8;
    let action = unescape(&html[at..at + html[at..].find('"').unwrap()]);
    if action.starts_with('/') {
        let origin_end = base.find("://").map_or(0, |i| {
            i + 3 + base[i + 3..].find('/').unwrap_or(base.len() - i - 3)
        });
        format!("{}{action}", &base[..origin_end])
    } else {
        action
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Logs in to the ente at `base` (its base URL) with SPID as the given person, through the
/// ente's test IdP; returns the `Cookie` header value of the session.
pub async fn spid_login(base: &str, fiscal_code: &str, name: &str, family: &str) -> String {
    spid_login_via(base, base, fiscal_code, name, family).await
}

/// As [`spid_login`], with the IdP's answer posted to the ACS at `acs_base` (another instance
/// of the same service provider) instead of `base`.
pub async fn spid_login_via(
    base: &str,
    acs_base: &str,
    fiscal_code: &str,
    name: &str,
    family: &str,
) -> String {
    let answer = spid_answer(base, fiscal_code, name, family).await;
    let r = answer.post_to(acs_base).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    set_cookie(&r, "spid_session").expect("session cookie")
}

/// The test IdP's answer to a login started at `base`: the login cookie and the form to post
/// to the ACS.
pub struct SpidAnswer {
    /// `spid_login=…`.
    pub login_cookie: String,
    /// `SAMLResponse` (and `RelayState`).
    pub form: Vec<(&'static str, String)>,
}

impl SpidAnswer {
    /// Posts the answer to the ACS of the SP at `base`.
    pub async fn post_to(&self, base: &str) -> reqwest::Response {
        http()
            .post(format!("{base}/spid/acs"))
            .header(COOKIE, &self.login_cookie)
            .form(&self.form)
            .send()
            .await
            .unwrap()
    }
}

/// Starts a SPID login at `base` and has the ente's test IdP answer it for the given person.
pub async fn spid_answer(base: &str, fiscal_code: &str, name: &str, family: &str) -> SpidAnswer {
    let c = http();
    let idp = format!("{base}/test-idp/spid");
    let r = c
        .get(format!("{base}/spid/login"))
        .query(&[("idp", idp.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302, "{:?}", r.text().await);
    let login_cookie = set_cookie(&r, "spid_login").expect("login cookie");
    let to_idp = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(to_idp.starts_with(&format!("{idp}/sso?")), "{to_idp}");
    let page = c.get(&to_idp).send().await.unwrap().text().await.unwrap();
    let token = input(&page, "token");
    let answer = c
        .post(form_action(&page, base))
        .form(&[
            ("token", token.as_str()),
            ("name", name),
            ("family_name", family),
            ("fiscal_code", fiscal_code),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(form_action(&answer, base), format!("{base}/spid/acs"));
    let mut form = vec![("SAMLResponse", input(&answer, "SAMLResponse"))];
    if answer.contains("name=\"RelayState\"") {
        form.push(("RelayState", input(&answer, "RelayState")));
    }
    SpidAnswer { login_cookie, form }
}
