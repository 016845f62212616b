//! Metadata policy (OpenID Federation 1.0 §6.1): the seven standard operators, their allowed
//! combinations, the merge of the policies of a Trust Chain (from the Trust Anchor down to the
//! Immediate Superior of the subject) and the application of the resolved policy to the
//! subject's metadata, operator by operator in the order the specification fixes: `value`,
//! `add`, `default`, `one_of`, `subset_of`, `superset_of`, `essential`.
//!
//! Arrays are compared as sets (order and duplicates do not matter when two `value` or `default`
//! operators are merged). The `scope` parameter, a space-separated string, is handled as an array
//! of strings and written back as a string (§6.1.3.1.8). Operators that are not standard are
//! ignored, unless a Subordinate Statement names them in `metadata_policy_crit`: this crate
//! implements no additional operator, so that is always a policy error.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The standard operators in their order of application.
pub const OPERATORS: [&str; 7] = [
    "value",
    "add",
    "default",
    "one_of",
    "subset_of",
    "superset_of",
    "essential",
];

/// What went wrong in a metadata policy, its merge or its application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// `metadata_policy`, an Entity Type policy or a parameter policy is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// The operator is configured with a JSON value it does not accept.
    #[error("operator value has the wrong JSON type: {0}")]
    BadOperatorValue(&'static str),
    /// Two operators that must not appear together in one parameter policy.
    #[error("may not be combined with {0}")]
    NotCombinable(&'static str),
    /// Two operators that may be combined, but with values that break the condition.
    #[error("combined with {other}: {condition}")]
    CombinationCondition {
        /// The other operator.
        other: &'static str,
        /// The condition the values break.
        condition: &'static str,
    },
    /// A superior and a subordinate policy use the same operator with values that cannot merge.
    #[error("cannot merge the superior's {superior} with the subordinate's {subordinate}")]
    MergeConflict {
        /// The superior's operator value (JSON).
        superior: Box<str>,
        /// The subordinate's operator value (JSON).
        subordinate: Box<str>,
    },
    /// The metadata parameter has a JSON type the operator cannot act on.
    #[error("metadata parameter has the wrong JSON type: {0}")]
    BadParameterType(&'static str),
    /// The metadata does not satisfy the check of the operator.
    #[error("metadata value {found} violates the policy")]
    Violation {
        /// The parameter value found (JSON), or `absent`.
        found: String,
    },
    /// `metadata_policy_crit` names an operator this implementation does not process.
    #[error("critical operator {0:?} not supported")]
    UnsupportedCritical(String),
}

/// A metadata policy error, naming the entity, the Entity Type, the metadata parameter and the
/// operator at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metadata policy of {entity}: {entity_type}.{parameter} {operator}: {kind}")]
pub struct PolicyError {
    /// For a bad or conflicting policy, the issuer of the statement carrying it; for a violation,
    /// the Trust Chain subject whose metadata fails.
    pub entity: String,
    /// Entity Type Identifier (e.g. `openid_provider`); empty for a structural error above it.
    pub entity_type: Box<str>,
    /// Metadata parameter; empty for a structural error above it.
    pub parameter: Box<str>,
    /// Operator name (or `metadata_policy` / `metadata_policy_crit` / `metadata` for structural
    /// errors).
    pub operator: &'static str,
    /// What is wrong.
    pub kind: PolicyErrorKind,
}

/// The policy for one metadata parameter: the standard operators it uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParameterPolicy {
    /// `value` (`Some(Value::Null)` removes the parameter).
    pub value: Option<Value>,
    /// `add`.
    pub add: Option<Vec<Value>>,
    /// `default`.
    pub default: Option<Value>,
    /// `one_of`.
    pub one_of: Option<Vec<Value>>,
    /// `subset_of`.
    pub subset_of: Option<Vec<Value>>,
    /// `superset_of`.
    pub superset_of: Option<Vec<Value>>,
    /// `essential`.
    pub essential: Option<bool>,
}

type OpErr = (&'static str, PolicyErrorKind);

fn array(op: &'static str, v: &Value) -> Result<Vec<Value>, OpErr> {
    match v {
        Value::Array(a) if a.iter().all(|x| !x.is_null() && !x.is_array()) => Ok(a.clone()),
        _ => Err((
            op,
            PolicyErrorKind::BadOperatorValue("an array of strings, numbers or objects"),
        )),
    }
}

fn contains(set: &[Value], v: &Value) -> bool {
    set.iter().any(|x| x == v)
}

fn subset(a: &[Value], b: &[Value]) -> bool {
    a.iter().all(|x| contains(b, x))
}

fn union(a: &[Value], b: &[Value]) -> Vec<Value> {
    let mut out = a.to_vec();
    for x in b {
        if !contains(&out, x) {
            out.push(x.clone());
        }
    }
    out
}

fn intersection(a: &[Value], b: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for x in a {
        if contains(b, x) && !contains(&out, x) {
            out.push(x.clone());
        }
    }
    out
}

/// The values of a parameter or operator value taken as a set: an array, or for `scope` a
/// space-separated string.
fn values_of(param: &str, v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(a) => Some(a.clone()),
        Value::String(s) if param == "scope" => Some(
            s.split(' ')
                .filter(|t| !t.is_empty())
                .map(|t| Value::String(t.into()))
                .collect(),
        ),
        _ => None,
    }
}

/// Equality for `value` / `default` merges: arrays (and `scope` strings) as sets, the rest exactly.
fn policy_eq(param: &str, a: &Value, b: &Value) -> bool {
    match (values_of(param, a), values_of(param, b)) {
        (Some(x), Some(y)) => subset(&x, &y) && subset(&y, &x),
        _ => a == b,
    }
}

impl ParameterPolicy {
    /// Parses the operators of one parameter policy, checking each operator's JSON type and the
    /// combinations. Non-standard operators are returned by name (the caller decides whether
    /// they are critical).
    fn parse(param: &str, v: &Value) -> Result<(ParameterPolicy, Vec<String>), OpErr> {
        let o = v
            .as_object()
            .ok_or(("metadata_policy", PolicyErrorKind::NotAnObject))?;
        let mut p = ParameterPolicy::default();
        let mut other = Vec::new();
        for (name, val) in o {
            match name.as_str() {
                "value" => {
                    if val.is_object() {
                        return Err((
                            "value",
                            PolicyErrorKind::BadOperatorValue(
                                "a string, number, boolean, array or null",
                            ),
                        ));
                    }
                    p.value = Some(val.clone());
                }
                "add" => p.add = Some(array("add", val)?),
                "default" => {
                    if val.is_null() || val.is_object() {
                        return Err((
                            "default",
                            PolicyErrorKind::BadOperatorValue("a string, number, boolean or array"),
                        ));
                    }
                    p.default = Some(val.clone());
                }
                "one_of" => {
                    let a = array("one_of", val)?;
                    if a.is_empty() {
                        return Err((
                            "one_of",
                            PolicyErrorKind::BadOperatorValue("a non-empty array"),
                        ));
                    }
                    p.one_of = Some(a);
                }
                "subset_of" => p.subset_of = Some(array("subset_of", val)?),
                "superset_of" => p.superset_of = Some(array("superset_of", val)?),
                "essential" => {
                    p.essential = Some(
                        val.as_bool()
                            .ok_or(("essential", PolicyErrorKind::BadOperatorValue("a boolean")))?,
                    );
                }
                _ => other.push(name.clone()),
            }
        }
        p.check_combinations(param)?;
        Ok((p, other))
    }

    /// The combination rules of §6.1.3.1 for the operators present.
    fn check_combinations(&self, param: &str) -> Result<(), OpErr> {
        let cond = |op, other, condition| {
            Err((
                op,
                PolicyErrorKind::CombinationCondition { other, condition },
            ))
        };
        if let Some(one_of) = &self.one_of {
            for (present, name) in [
                (self.add.is_some(), "add"),
                (self.subset_of.is_some(), "subset_of"),
                (self.superset_of.is_some(), "superset_of"),
            ] {
                if present {
                    return Err(("one_of", PolicyErrorKind::NotCombinable(name)));
                }
            }
            if let Some(v) = &self.value
                && !contains(one_of, v)
            {
                return cond(
                    "value",
                    "one_of",
                    "the value must be among the one_of values",
                );
            }
        }
        if let Some(v) = &self.value {
            if v.is_null() {
                if self.default.is_some() {
                    return Err(("value", PolicyErrorKind::NotCombinable("default")));
                }
                if self.essential == Some(true) {
                    return cond("value", "essential", "a null value cannot be essential");
                }
            }
            // a null value holds no values; a scalar one has no set of values to compare
            let vals = if v.is_null() {
                Some(Vec::new())
            } else {
                values_of(param, v)
            };
            let need_set = |other| {
                Err((
                    "value",
                    PolicyErrorKind::CombinationCondition {
                        other,
                        condition: "the value must be an array",
                    },
                ))
            };
            if let Some(add) = &self.add {
                let Some(vals) = &vals else {
                    return need_set("add");
                };
                if !subset(add, vals) {
                    return cond("add", "value", "add must be a subset of value");
                }
            }
            if let Some(sub) = &self.subset_of {
                let Some(vals) = &vals else {
                    return need_set("subset_of");
                };
                if !subset(vals, sub) {
                    return cond("value", "subset_of", "value must be a subset of subset_of");
                }
            }
            if let Some(sup) = &self.superset_of {
                let Some(vals) = &vals else {
                    return need_set("superset_of");
                };
                if !subset(sup, vals) {
                    return cond(
                        "value",
                        "superset_of",
                        "value must be a superset of superset_of",
                    );
                }
            }
        }
        if let (Some(add), Some(sub)) = (&self.add, &self.subset_of)
            && !subset(add, sub)
        {
            return cond("add", "subset_of", "add must be a subset of subset_of");
        }
        if let (Some(sub), Some(sup)) = (&self.subset_of, &self.superset_of)
            && !subset(sup, sub)
        {
            return cond(
                "subset_of",
                "superset_of",
                "subset_of must be a superset of superset_of",
            );
        }
        Ok(())
    }

    /// Merges a subordinate's policy for the same parameter into this (the superior's) one.
    fn merge(&mut self, param: &str, sub: &ParameterPolicy) -> Result<(), OpErr> {
        let conflict = |op, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
            Err((
                op,
                PolicyErrorKind::MergeConflict {
                    superior: a.to_string().into(),
                    subordinate: b.to_string().into(),
                },
            ))
        };
        if let Some(v) = &sub.value {
            match &self.value {
                Some(mine) if !policy_eq(param, mine, v) => return conflict("value", mine, v),
                Some(_) => {}
                None => self.value = Some(v.clone()),
            }
        }
        if let Some(d) = &sub.default {
            match &self.default {
                Some(mine) if !policy_eq(param, mine, d) => return conflict("default", mine, d),
                Some(_) => {}
                None => self.default = Some(d.clone()),
            }
        }
        if let Some(a) = &sub.add {
            self.add = Some(union(self.add.as_deref().unwrap_or_default(), a));
        }
        if let Some(s) = &sub.superset_of {
            self.superset_of = Some(union(self.superset_of.as_deref().unwrap_or_default(), s));
        }
        if let Some(s) = &sub.subset_of {
            self.subset_of = Some(match &self.subset_of {
                Some(mine) => intersection(mine, s),
                None => s.clone(),
            });
        }
        if let Some(o) = &sub.one_of {
            let merged = match &self.one_of {
                Some(mine) => intersection(mine, o),
                None => o.clone(),
            };
            if merged.is_empty() {
                let mine = Value::Array(self.one_of.clone().unwrap_or_default());
                return conflict("one_of", &mine, &Value::Array(o.clone()));
            }
            self.one_of = Some(merged);
        }
        if let Some(e) = sub.essential {
            self.essential = Some(self.essential.unwrap_or(false) || e);
        }
        self.check_combinations(param)
    }

    /// Applies the operators, in their order, to the parameter (`None` when absent); returns the
    /// parameter after the policy (`None` when removed or still absent).
    fn apply(&self, param: &str, current: Option<&Value>) -> Result<Option<Value>, OpErr> {
        let as_string = param == "scope" && current.is_none_or(Value::is_string);
        let found = |v: &Option<Value>| {
            v.as_ref()
                .map_or_else(|| "absent".to_owned(), Value::to_string)
        };
        if current.is_some_and(Value::is_null) {
            return Err(("value", PolicyErrorKind::BadParameterType("null")));
        }
        let mut cur = current.cloned();
        if let Some(v) = &self.value {
            cur = if v.is_null() { None } else { Some(v.clone()) };
        }
        let set_of = |op, v: &Value| {
            values_of(param, v).ok_or((op, PolicyErrorKind::BadParameterType("not an array")))
        };
        if let Some(add) = &self.add {
            cur = Some(Value::Array(match &cur {
                None => add.clone(),
                Some(v) => union(&set_of("add", v)?, add),
            }));
        }
        if let (None, Some(d)) = (&cur, &self.default) {
            cur = Some(d.clone());
        }
        if let (Some(v), Some(one_of)) = (&cur, &self.one_of)
            && !contains(one_of, v)
        {
            return Err(("one_of", PolicyErrorKind::Violation { found: found(&cur) }));
        }
        if let (Some(v), Some(sub)) = (&cur, &self.subset_of) {
            cur = Some(Value::Array(intersection(&set_of("subset_of", v)?, sub)));
        }
        if let (Some(v), Some(sup)) = (&cur, &self.superset_of)
            && !subset(sup, &set_of("superset_of", v)?)
        {
            return Err((
                "superset_of",
                PolicyErrorKind::Violation { found: found(&cur) },
            ));
        }
        if self.essential == Some(true) && cur.is_none() {
            return Err((
                "essential",
                PolicyErrorKind::Violation {
                    found: "absent".into(),
                },
            ));
        }
        // `scope` goes back to a space-separated string
        if as_string && let Some(Value::Array(a)) = &cur {
            let words: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            cur = Some(Value::String(words.join(" ")));
        }
        Ok(cur)
    }
}

/// A metadata policy: Entity Type → metadata parameter → operators.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetadataPolicy {
    /// The parameter policies by Entity Type and parameter name.
    pub types: BTreeMap<String, BTreeMap<String, ParameterPolicy>>,
}

fn err(entity: &str, ty: &str, param: &str, (op, kind): OpErr) -> PolicyError {
    PolicyError {
        entity: entity.into(),
        entity_type: ty.into(),
        parameter: param.into(),
        operator: op,
        kind,
    }
}

impl MetadataPolicy {
    /// Parses and validates the `metadata_policy` claim of a Subordinate Statement issued by
    /// `issuer`, whose `metadata_policy_crit` is `crit` (empty when absent).
    ///
    /// # Errors
    /// [`PolicyError`] naming `issuer`, the Entity Type, parameter and operator at fault.
    pub fn parse(
        issuer: &str,
        policy: &Map<String, Value>,
        crit: &[String],
    ) -> Result<MetadataPolicy, PolicyError> {
        // we process no additional operator: any critical one cannot be honoured
        if let Some(c) = crit.first() {
            return Err(PolicyError {
                entity: issuer.into(),
                entity_type: "".into(),
                parameter: "".into(),
                operator: "metadata_policy_crit",
                kind: PolicyErrorKind::UnsupportedCritical(c.clone()),
            });
        }
        let mut out = MetadataPolicy::default();
        for (ty, params) in policy {
            let params = params.as_object().ok_or_else(|| {
                err(
                    issuer,
                    ty,
                    "",
                    ("metadata_policy", PolicyErrorKind::NotAnObject),
                )
            })?;
            let mut m = BTreeMap::new();
            for (param, ops) in params {
                let (p, _ignored) =
                    ParameterPolicy::parse(param, ops).map_err(|e| err(issuer, ty, param, e))?;
                m.insert(param.clone(), p);
            }
            out.types.insert(ty.clone(), m);
        }
        Ok(out)
    }

    /// Merges the policy of the next Subordinate Statement down the chain (issued by
    /// `sub_issuer`) into this one (§6.1.4.1).
    ///
    /// # Errors
    /// [`PolicyError`] naming `sub_issuer` when an operator cannot merge or the merged policy
    /// combines operators in a way that is not allowed.
    pub fn merge(&mut self, sub_issuer: &str, sub: &MetadataPolicy) -> Result<(), PolicyError> {
        for (ty, params) in &sub.types {
            let mine = self.types.entry(ty.clone()).or_default();
            for (param, p) in params {
                match mine.get_mut(param) {
                    Some(cur) => cur
                        .merge(param, p)
                        .map_err(|e| err(sub_issuer, ty, param, e))?,
                    None => {
                        mine.insert(param.clone(), p.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Resolves the policy of a chain: the `(issuer, metadata_policy, metadata_policy_crit)` of
    /// each Subordinate Statement, from the one issued by the Trust Anchor down to the one issued
    /// by the subject's Immediate Superior.
    ///
    /// # Errors
    /// The first [`PolicyError`] met.
    pub fn resolve<'a>(
        statements: impl IntoIterator<Item = (&'a str, &'a Map<String, Value>, &'a [String])>,
    ) -> Result<MetadataPolicy, PolicyError> {
        let mut out = MetadataPolicy::default();
        for (iss, policy, crit) in statements {
            let p = MetadataPolicy::parse(iss, policy, crit)?;
            out.merge(iss, &p)?;
        }
        Ok(out)
    }

    /// Applies the policy to the metadata of `subject` (Entity Type → parameters). Policies for
    /// Entity Types the subject does not have are not applied.
    ///
    /// # Errors
    /// [`PolicyError`] naming `subject` when the metadata violates the policy or has a parameter
    /// type an operator cannot act on.
    pub fn apply(
        &self,
        subject: &str,
        metadata: &Map<String, Value>,
    ) -> Result<Map<String, Value>, PolicyError> {
        let mut out = metadata.clone();
        for (ty, params) in &self.types {
            let Some(md) = out.get_mut(ty) else { continue };
            let md = md.as_object_mut().ok_or_else(|| {
                err(
                    subject,
                    ty,
                    "",
                    (
                        "metadata",
                        PolicyErrorKind::BadParameterType("not an object"),
                    ),
                )
            })?;
            for (param, p) in params {
                let new = p
                    .apply(param, md.get(param))
                    .map_err(|e| err(subject, ty, param, e))?;
                match new {
                    Some(v) => md.insert(param.clone(), v),
                    None => md.remove(param),
                };
            }
        }
        Ok(out)
    }
}
