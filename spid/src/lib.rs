//! SPID Service Provider (SAML 2.0).
//!
//! This crate will cover SP metadata (Avvisi 28 and 29), AuthnRequest in the HTTP-Redirect and
//! HTTP-POST bindings, Response validation with every SPID rule, attributes and SPID error codes,
//! Single Logout, the IdP registry, replay protection, a test IdP and web-framework integration.
//! The work is tracked in its own issues; until it lands the crate has no public items.
