//! The closed set of SPID attribute names and the typed identity built from a response.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use pa_types::{CodiceFiscale, PartitaIva};
use serde::{Deserialize, Serialize};

macro_rules! spid_attributes {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal ),+ $(,)?) => {
        /// A SPID attribute name: the closed list of the SPID rules (Avviso 19 v4 included).
        ///
        /// Serialized as the SPID name (`fiscalNumber`, `familyName`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum SpidAttribute {
            $( $(#[$doc])* #[serde(rename = $name)] $variant, )+
        }

        impl SpidAttribute {
            /// Every SPID attribute, in declaration order.
            pub const ALL: &'static [SpidAttribute] = &[ $( SpidAttribute::$variant ),+ ];

            /// The SPID name, as used in `RequestedAttribute/@Name` and `Attribute/@Name`.
            pub fn name(self) -> &'static str {
                match self { $( SpidAttribute::$variant => $name ),+ }
            }

            /// Looks a SPID name up; `None` for names outside the closed set.
            pub fn from_name(name: &str) -> Option<SpidAttribute> {
                match name { $( $name => Some(SpidAttribute::$variant), )+ _ => None }
            }
        }
    };
}

spid_attributes! {
    /// `spidCode`: the identity's code at its IdP.
    SpidCode = "spidCode",
    /// `name`: given name.
    Name = "name",
    /// `familyName`: family name.
    FamilyName = "familyName",
    /// `placeOfBirth`: cadastral code of the place of birth.
    PlaceOfBirth = "placeOfBirth",
    /// `countyOfBirth`: province of birth.
    CountyOfBirth = "countyOfBirth",
    /// `dateOfBirth`: `YYYY-MM-DD`.
    DateOfBirth = "dateOfBirth",
    /// `gender`: `M` or `F`.
    Gender = "gender",
    /// `companyName`: company name (legal persons).
    CompanyName = "companyName",
    /// `registeredOffice`: registered office (legal persons).
    RegisteredOffice = "registeredOffice",
    /// `fiscalNumber`: `TINIT-<codice fiscale>`.
    FiscalNumber = "fiscalNumber",
    /// `ivaCode`: `VATIT-<partita IVA>`.
    IvaCode = "ivaCode",
    /// `idCard`: identity document.
    IdCard = "idCard",
    /// `mobilePhone`.
    MobilePhone = "mobilePhone",
    /// `email`.
    Email = "email",
    /// `address`: residence address.
    Address = "address",
    /// `expirationDate`: expiry of the identity, `YYYY-MM-DD`.
    ExpirationDate = "expirationDate",
    /// `digitalAddress`: PEC address.
    DigitalAddress = "digitalAddress",
    /// `domicileStreetAddress`.
    DomicileStreetAddress = "domicileStreetAddress",
    /// `domicilePostalCode`.
    DomicilePostalCode = "domicilePostalCode",
    /// `domicileMunicipality`.
    DomicileMunicipality = "domicileMunicipality",
    /// `domicileProvince`.
    DomicileProvince = "domicileProvince",
    /// `domicileNation`.
    DomicileNation = "domicileNation",
    /// `companyFiscalNumber`: fiscal number of the company (legal persons).
    CompanyFiscalNumber = "companyFiscalNumber",
}

impl fmt::Display for SpidAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SpidAttribute {
    type Err = UnknownAttribute;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SpidAttribute::from_name(s).ok_or_else(|| UnknownAttribute(s.to_owned()))
    }
}

/// A name that is not in the closed set of SPID attributes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a SPID attribute name")]
pub struct UnknownAttribute(pub String);

/// Gender as released by SPID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gender {
    /// `M`.
    Male,
    /// `F`.
    Female,
}

/// Why an attribute value could not be typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute {attribute}: {reason} (value {value:?})")]
pub struct AttributeValueError {
    /// The attribute.
    pub attribute: SpidAttribute,
    /// What is wrong.
    pub reason: String,
    /// The value received.
    pub value: String,
}

/// The identity released by a SPID IdP, every attribute typed.
///
/// Attributes that were not released are `None`. Names outside the SPID set end up in
/// [`other`](SpidIdentity::other) as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpidIdentity {
    /// `spidCode`.
    pub spid_code: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `familyName`.
    pub family_name: Option<String>,
    /// `placeOfBirth`.
    pub place_of_birth: Option<String>,
    /// `countyOfBirth`.
    pub county_of_birth: Option<String>,
    /// `dateOfBirth`.
    pub date_of_birth: Option<NaiveDate>,
    /// `gender`.
    pub gender: Option<Gender>,
    /// `companyName`.
    pub company_name: Option<String>,
    /// `registeredOffice`.
    pub registered_office: Option<String>,
    /// `fiscalNumber` without its `TINIT-` prefix.
    pub fiscal_number: Option<CodiceFiscale>,
    /// `ivaCode` without its `VATIT-` prefix.
    pub iva_code: Option<PartitaIva>,
    /// `idCard`.
    pub id_card: Option<String>,
    /// `mobilePhone`.
    pub mobile_phone: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `address`.
    pub address: Option<String>,
    /// `expirationDate`.
    pub expiration_date: Option<NaiveDate>,
    /// `digitalAddress`.
    pub digital_address: Option<String>,
    /// `domicileStreetAddress`.
    pub domicile_street_address: Option<String>,
    /// `domicilePostalCode`.
    pub domicile_postal_code: Option<String>,
    /// `domicileMunicipality`.
    pub domicile_municipality: Option<String>,
    /// `domicileProvince`.
    pub domicile_province: Option<String>,
    /// `domicileNation`.
    pub domicile_nation: Option<String>,
    /// `companyFiscalNumber` as sent (`TINIT-...` or `VATIT-...`).
    pub company_fiscal_number: Option<String>,
    /// Attributes outside the SPID set, by name.
    pub other: BTreeMap<String, String>,
}

impl SpidIdentity {
    /// Sets one attribute from its textual value, typing it.
    ///
    /// # Errors
    /// [`AttributeValueError`] when the value does not fit the attribute's type (a fiscal number
    /// without `TINIT-` or with a wrong check character, a date not in `YYYY-MM-DD`, ...).
    pub fn set(
        &mut self,
        attribute: SpidAttribute,
        value: &str,
    ) -> Result<(), AttributeValueError> {
        let err = |reason: &str| AttributeValueError {
            attribute,
            reason: reason.to_owned(),
            value: value.to_owned(),
        };
        let text = Some(value.to_owned());
        match attribute {
            SpidAttribute::SpidCode => self.spid_code = text,
            SpidAttribute::Name => self.name = text,
            SpidAttribute::FamilyName => self.family_name = text,
            SpidAttribute::PlaceOfBirth => self.place_of_birth = text,
            SpidAttribute::CountyOfBirth => self.county_of_birth = text,
            SpidAttribute::DateOfBirth => {
                self.date_of_birth = Some(
                    NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .map_err(|_| err("expected a date YYYY-MM-DD"))?,
                );
            }
            SpidAttribute::Gender => {
                self.gender = Some(match value {
                    "M" => Gender::Male,
                    "F" => Gender::Female,
                    _ => return Err(err("expected M or F")),
                });
            }
            SpidAttribute::CompanyName => self.company_name = text,
            SpidAttribute::RegisteredOffice => self.registered_office = text,
            SpidAttribute::FiscalNumber => {
                self.fiscal_number = Some(
                    pa_types::parse_spid_fiscal_number(value).map_err(|e| err(&e.to_string()))?,
                );
            }
            SpidAttribute::IvaCode => {
                self.iva_code =
                    Some(pa_types::parse_spid_vat_number(value).map_err(|e| err(&e.to_string()))?);
            }
            SpidAttribute::IdCard => self.id_card = text,
            SpidAttribute::MobilePhone => self.mobile_phone = text,
            SpidAttribute::Email => self.email = text,
            SpidAttribute::Address => self.address = text,
            SpidAttribute::ExpirationDate => {
                self.expiration_date = Some(
                    NaiveDate::parse_from_str(value, "%Y-%m-%d")
                        .map_err(|_| err("expected a date YYYY-MM-DD"))?,
                );
            }
            SpidAttribute::DigitalAddress => self.digital_address = text,
            SpidAttribute::DomicileStreetAddress => self.domicile_street_address = text,
            SpidAttribute::DomicilePostalCode => self.domicile_postal_code = text,
            SpidAttribute::DomicileMunicipality => self.domicile_municipality = text,
            SpidAttribute::DomicileProvince => self.domicile_province = text,
            SpidAttribute::DomicileNation => self.domicile_nation = text,
            SpidAttribute::CompanyFiscalNumber => self.company_fiscal_number = text,
        }
        Ok(())
    }

    /// The attributes that were released, by SPID name (unknown ones included), as text.
    pub fn released(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let mut put = |a: SpidAttribute, v: Option<String>| {
            if let Some(v) = v {
                out.insert(a.name().to_owned(), v);
            }
        };
        put(SpidAttribute::SpidCode, self.spid_code.clone());
        put(SpidAttribute::Name, self.name.clone());
        put(SpidAttribute::FamilyName, self.family_name.clone());
        put(SpidAttribute::PlaceOfBirth, self.place_of_birth.clone());
        put(SpidAttribute::CountyOfBirth, self.county_of_birth.clone());
        put(
            SpidAttribute::DateOfBirth,
            self.date_of_birth.map(|d| d.to_string()),
        );
        put(
            SpidAttribute::Gender,
            self.gender
                .map(|g| if g == Gender::Male { "M" } else { "F" }.to_owned()),
        );
        put(SpidAttribute::CompanyName, self.company_name.clone());
        put(
            SpidAttribute::RegisteredOffice,
            self.registered_office.clone(),
        );
        put(
            SpidAttribute::FiscalNumber,
            self.fiscal_number.as_ref().map(|c| format!("TINIT-{c}")),
        );
        put(
            SpidAttribute::IvaCode,
            self.iva_code.as_ref().map(|c| format!("VATIT-{c}")),
        );
        put(SpidAttribute::IdCard, self.id_card.clone());
        put(SpidAttribute::MobilePhone, self.mobile_phone.clone());
        put(SpidAttribute::Email, self.email.clone());
        put(SpidAttribute::Address, self.address.clone());
        put(
            SpidAttribute::ExpirationDate,
            self.expiration_date.map(|d| d.to_string()),
        );
        put(SpidAttribute::DigitalAddress, self.digital_address.clone());
        put(
            SpidAttribute::DomicileStreetAddress,
            self.domicile_street_address.clone(),
        );
        put(
            SpidAttribute::DomicilePostalCode,
            self.domicile_postal_code.clone(),
        );
        put(
            SpidAttribute::DomicileMunicipality,
            self.domicile_municipality.clone(),
        );
        put(
            SpidAttribute::DomicileProvince,
            self.domicile_province.clone(),
        );
        put(SpidAttribute::DomicileNation, self.domicile_nation.clone());
        put(
            SpidAttribute::CompanyFiscalNumber,
            self.company_fiscal_number.clone(),
        );
        for (k, v) in &self.other {
            out.insert(k.clone(), v.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(SpidAttribute::ALL.len(), 23);
        for a in SpidAttribute::ALL {
            assert_eq!(SpidAttribute::from_name(a.name()), Some(*a));
        }
        assert!("nickname".parse::<SpidAttribute>().is_err());
    }

    #[test]
    fn typed_values() {
        let mut id = SpidIdentity::default();
        id.set(SpidAttribute::FiscalNumber, "TINIT-RSSMRA85T10A562S")
            .unwrap();
        assert_eq!(
            id.fiscal_number.as_ref().map(|c| c.as_str()),
            Some("RSSMRA85T10A562S")
        );
        assert!(
            id.set(SpidAttribute::FiscalNumber, "RSSMRA85T10A562S")
                .is_err()
        );
        assert!(id.set(SpidAttribute::DateOfBirth, "01/01/2000").is_err());
        id.set(SpidAttribute::DateOfBirth, "2000-01-01").unwrap();
        assert_eq!(id.released()["dateOfBirth"], "2000-01-01");
    }
}
