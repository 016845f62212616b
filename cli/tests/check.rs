//! `pa check`: the normalized value and exit 0 when valid, the reason and a failure code when not.
#![allow(clippy::unwrap_used)]

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

#[test]
fn valid_values_print_the_normalized_form() {
    for (kind, input, normalized) in [
        ("cf", " rssmra85t10a562s ", "RSSMRA85T10A562S"),
        ("cf", "80016350821", "80016350821"),
        ("piva", "IT00488410010", "00488410010"),
        (
            "iban",
            "it60 x054 2811 1010 0000 0123 456",
            "IT60X0542811101000000123456",
        ),
        ("cup", "j41b04000070001", "J41B04000070001"),
        ("cig", "z1a2b3c4d5", "Z1A2B3C4D5"),
        ("ipa", "C_H501", "c_h501"),
    ] {
        let (code, out, _) = pa(&["check", kind, input]);
        assert_eq!(code, 0, "{kind} {input}");
        assert!(out.starts_with(normalized), "{kind}: {out}");
    }
}

#[test]
fn invalid_values_print_the_reason_and_fail() {
    for (kind, input, reason) in [
        (
            "cf",
            "RSSMRA85T10A562T",
            "check character expected 'S' found 'T'",
        ),
        (
            "piva",
            "00488410011",
            "check character expected '0' found '1'",
        ),
        ("iban", "IT61X0542811101000000123456", "checksum"),
        ("cup", "J41B0400007000", "expected 15 characters, found 14"),
        ("cig", "Z1A2B3C4DG", "position 10"),
        ("ipa", "c-h501", "position 2"),
    ] {
        let (code, out, err) = pa(&["check", kind, input]);
        assert_eq!(code, 1, "{kind} {input}");
        assert!(out.is_empty());
        assert!(err.contains(reason), "{kind}: {err}");
    }
}

#[test]
fn omocodia_is_explained() {
    let (code, out, _) = pa(&["check", "cf", "RSSMRA85T10A56NH"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("omocodia variant of RSSMRA85T10A562S"),
        "{out}"
    );
}
