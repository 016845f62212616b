//! Writing a `FlussoRiversamento` flow (what a PSP publishes; used by simulators and tests).

use std::fmt::Write as _;

use super::flow::{FLOW_NS, FlowHeader, FlowPayment, Institution};

fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(s)
}

fn institution(out: &mut String, outer: &str, id: &str, name: &str, i: &Institution) {
    let _ = write!(
        out,
        "<{outer}><{id}><tipoIdentificativoUnivoco>{}</tipoIdentificativoUnivoco>\
<codiceIdentificativoUnivoco>{}</codiceIdentificativoUnivoco></{id}>",
        esc(&i.id_type),
        esc(&i.id)
    );
    if let Some(n) = &i.name {
        let _ = write!(out, "<{name}>{}</{name}>", esc(n));
    }
    let _ = write!(out, "</{outer}>");
}

/// Writes a reporting flow as `FlussoRiversamento_1_0_4.xsd` lays it out: the header's fields,
/// then one `datiSingoliPagamenti` per payment, in the order given.
///
/// The header's declared totals are written as they are (so that a test can also write a flow
/// whose totals do not add up); [`FlowHeader::total_count`] and [`FlowHeader::total_amount`]
/// should be the count and sum of `payments` (revocations included, as the schema counts them).
/// [`super::FlowParser`] reads the output back.
#[must_use]
pub fn write_flow(header: &FlowHeader, payments: &[FlowPayment]) -> String {
    let mut s = String::with_capacity(1024 + payments.len() * 400);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><FlussoRiversamento xmlns=\"{FLOW_NS}\">\
<versioneOggetto>{}</versioneOggetto><identificativoFlusso>{}</identificativoFlusso>\
<dataOraFlusso>{}</dataOraFlusso><identificativoUnivocoRegolamento>{}</identificativoUnivocoRegolamento>\
<dataRegolamento>{}</dataRegolamento>",
        esc(&header.version),
        esc(&header.flow_id),
        esc(&header.flow_date_time),
        esc(&header.settlement_id),
        header.settlement_date.format("%Y-%m-%d"),
    );
    institution(
        &mut s,
        "istitutoMittente",
        "identificativoUnivocoMittente",
        "denominazioneMittente",
        &header.sender,
    );
    if let Some(b) = &header.bic {
        let _ = write!(
            s,
            "<codiceBicBancaDiRiversamento>{}</codiceBicBancaDiRiversamento>",
            esc(b)
        );
    }
    institution(
        &mut s,
        "istitutoRicevente",
        "identificativoUnivocoRicevente",
        "denominazioneRicevente",
        &header.receiver,
    );
    let _ = write!(
        s,
        "<numeroTotalePagamenti>{}</numeroTotalePagamenti><importoTotalePagamenti>{}</importoTotalePagamenti>",
        header.total_count,
        header.total_amount.to_decimal_string()
    );
    for p in payments {
        let _ = write!(
            s,
            "<datiSingoliPagamenti><identificativoUnivocoVersamento>{}</identificativoUnivocoVersamento>\
<identificativoUnivocoRiscossione>{}</identificativoUnivocoRiscossione>\
<indiceDatiSingoloPagamento>{}</indiceDatiSingoloPagamento><singoloImportoPagato>{}</singoloImportoPagato>\
<codiceEsitoSingoloPagamento>{}</codiceEsitoSingoloPagamento>\
<dataEsitoSingoloPagamento>{}</dataEsitoSingoloPagamento></datiSingoliPagamenti>",
            esc(&p.iuv),
            esc(&p.iur),
            p.transfer_index,
            p.amount.to_decimal_string(),
            p.outcome.digit(),
            p.date.format("%Y-%m-%d"),
        );
    }
    s.push_str("</FlussoRiversamento>");
    s
}
