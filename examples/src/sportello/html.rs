//! Plain, accessible HTML pages in Italian: one layout, escaping, small helpers.

use std::fmt::Write as _;

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const CSS: &str = r#"
:root { --blu: #0066cc; --scuro: #17324d; --chiaro: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Titillium Web", Arial, sans-serif; color: var(--scuro); background: #fff; line-height: 1.5; }
a { color: var(--blu); }
header { background: var(--blu); color: #fff; padding: 1rem 2rem; }
header a { color: #fff; }
header p { margin: 0; font-size: .9rem; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 2rem 3rem; }
h1 { font-size: 1.8rem; margin-top: 0; }
.azioni { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1.5rem 0; }
.bottone, button { display: inline-block; background: var(--blu); color: #fff; border: 0; border-radius: 4px;
  padding: .75rem 1.5rem; font-size: 1rem; font-weight: 600; text-decoration: none; cursor: pointer; }
.bottone:focus, button:focus, input:focus, textarea:focus, select:focus { outline: 3px solid #ff9900; outline-offset: 2px; }
.scheda { background: var(--chiaro); border-radius: 4px; padding: 1rem 1.5rem; margin: 1rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; font-family: monospace, monospace; word-break: break-all; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input, textarea, select { width: 100%; padding: .5rem; font-size: 1rem; border: 1px solid #5c6f82; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { border-bottom: 1px solid #d9dadb; padding: .4rem .5rem; text-align: left; vertical-align: top; }
.errore { background: #fde8e8; border-left: 4px solid #d9364f; padding: 1rem; }
.ok { background: #e6f4ea; border-left: 4px solid #008758; padding: 1rem; }
pre { background: var(--chiaro); padding: 1rem; overflow-x: auto; font-size: .8rem; }
.qr svg { width: 12rem; height: 12rem; }
footer { border-top: 1px solid #d9dadb; padding: 1rem 2rem; font-size: .85rem; }
"#;

/// A complete page of the ente `ente` (name shown in the header, linking to `home`).
pub(crate) fn page(ente: &str, home: &str, title: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 2048);
    let _ = write!(
        out,
        r#"<!DOCTYPE html>
<html lang="it">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Sportello telematico</title>
<style>{CSS}</style>
</head>
<body>
<header>
<p><a href="{home}">{ente}</a></p>
<strong>Sportello telematico</strong>
</header>
<main id="contenuto">
<h1>{title}</h1>
{body}
</main>
<footer>Dimostrazione dei crate pa-rs: SPID, CIE, protocollo, pagoPA, App IO, SIOPE+. Tutti i servizi esterni sono simulati su 127.0.0.1.</footer>
</body>
</html>
"#,
        title = esc(title),
        ente = esc(ente),
        home = esc(home),
    );
    out
}

/// A definition list from label/value pairs (values are escaped).
pub(crate) fn fields(rows: &[(&str, String)]) -> String {
    let mut out = String::from("<dl>");
    for (k, v) in rows {
        let _ = write!(out, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    out.push_str("</dl>");
    out
}

/// An error page body.
pub(crate) fn error_box(message: &str) -> String {
    format!(r#"<div class="errore" role="alert">{}</div>"#, esc(message))
}
