//! Signs the element with the given ID in an XML file: `sign_file KEY CERT ID FILE [xades]`.

use xmldsig::{Certificate, SignOptions, SigningKey, XadesOptions, sign_enveloped};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, key, cert, id, file, rest @ ..] = args.as_slice() else {
        return Err("usage: sign_file KEY CERT ID FILE [xades]".into());
    };
    let key = SigningKey::from_pem(&std::fs::read(key)?)?;
    let cert = Certificate::from_pem(&std::fs::read(cert)?)?;
    let mut opts = SignOptions::new(id, &key).certificate(&cert);
    if rest.first().map(String::as_str) == Some("xades") {
        opts = opts.xades(XadesOptions::default());
    }
    let out = sign_enveloped(&std::fs::read(file)?, &opts)?;
    std::io::Write::write_all(&mut std::io::stdout(), &out)?;
    Ok(())
}
