//! The Checkout EC client (feature `client`): `POST /carts`.

use crate::gpd::SubscriptionKey;

use super::{Cart, CartError, ProblemJson, check_url};

/// Production base URL of the Checkout EC API v2.
pub const CHECKOUT_PRODUCTION_URL: &str = "https://api.platform.pagopa.it/checkout/ec/v2";
/// UAT base URL of the Checkout EC API v2.
pub const CHECKOUT_UAT_URL: &str = "https://api.uat.platform.pagopa.it/checkout/ec/v2";

/// Errors of [`CheckoutClient::post_cart`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckoutError {
    /// The cart breaks a rule of `CartRequestV2`; nothing was sent.
    #[error("cart not valid: {0}")]
    Invalid(#[from] CartError),
    /// 400 (`ProblemJson`): Checkout found the cart formally invalid.
    #[error("400 formally invalid cart: {0}")]
    BadRequest(ProblemJson),
    /// 401: missing or wrong subscription key (answered by the API gateway).
    #[error("401 unauthorized: check the subscription key")]
    Unauthorized,
    /// 500 (`ProblemJson`): Checkout failed.
    #[error("500 Checkout error: {0}")]
    Server(ProblemJson),
    /// Any other status (the API documents only 302, 400 and 500).
    #[error("unexpected HTTP status {status}: {problem}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// Whatever the body said.
        problem: ProblemJson,
    },
    /// 302 without a usable `Location` (missing, or not an absolute http(s) URL).
    #[error("redirect without a usable Location: {0}")]
    BadLocation(String),
    /// Connection, TLS or timeout failure. The cart may or may not have been created: post it
    /// again (a new cart) rather than reusing a Location you never got.
    #[error("transport: {0}")]
    Transport(String),
}

/// Client of the Checkout EC API (`POST /carts`). Not retried: every post creates a cart.
#[derive(Debug, Clone)]
pub struct CheckoutClient {
    http: reqwest::Client,
    base_url: String,
    key: Option<SubscriptionKey>,
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

impl CheckoutClient {
    /// A client for `base_url` ([`CHECKOUT_PRODUCTION_URL`], [`CHECKOUT_UAT_URL`] or a
    /// simulator's `base_url()`), sending `key` as `Ocp-Apim-Subscription-Key`.
    #[must_use]
    pub fn new(base_url: impl Into<String>, key: SubscriptionKey) -> CheckoutClient {
        CheckoutClient {
            http: no_redirects(),
            base_url: base_url.into(),
            key: Some(key),
        }
    }

    /// A client that sends no subscription key (the EC carts API is also published without
    /// one).
    #[must_use]
    pub fn without_key(base_url: impl Into<String>) -> CheckoutClient {
        CheckoutClient {
            http: no_redirects(),
            base_url: base_url.into(),
            key: None,
        }
    }

    /// Uses a configured reqwest client (timeouts, proxy, TLS). It must not follow redirects
    /// (`redirect::Policy::none()`), or the `Location` is lost.
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> CheckoutClient {
        self.http = http;
        self
    }

    /// Posts `cart` after [`Cart::validate`] and returns the Checkout URL to send the browser
    /// to (the `Location` of the 302 answer).
    ///
    /// # Errors
    /// [`CheckoutError::Invalid`] before sending; the typed answers otherwise.
    pub async fn post_cart(&self, cart: &Cart) -> Result<String, CheckoutError> {
        cart.validate()?;
        let url = format!("{}/carts", self.base_url.trim_end_matches('/'));
        let mut req = self
            .http
            .post(url)
            .header("Accept", "application/json")
            .json(&cart.to_json());
        if let Some(k) = &self.key {
            req = req.header("Ocp-Apim-Subscription-Key", k.expose_secret());
        }
        let resp = req
            .send()
            .await
            .map_err(|e| CheckoutError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 302 || status == 303 {
            let loc = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .ok_or_else(|| CheckoutError::BadLocation("no Location header".into()))?
                .to_str()
                .map_err(|_| CheckoutError::BadLocation("Location is not ASCII".into()))?
                .to_owned();
            check_url("Location", &loc).map_err(|e| CheckoutError::BadLocation(e.problem))?;
            return Ok(loc);
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| CheckoutError::Transport(e.to_string()))?;
        let problem = ProblemJson::from_body(&body);
        Err(match status {
            400 => CheckoutError::BadRequest(problem),
            401 => CheckoutError::Unauthorized,
            500 => CheckoutError::Server(problem),
            _ => CheckoutError::UnexpectedStatus { status, problem },
        })
    }
}
