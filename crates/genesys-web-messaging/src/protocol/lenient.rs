// Lenient decoders for fields whose meaning is clear whatever the shape the server used:
// `null` for an empty list, map or text, a number or a string for numbers and times, the
// strings `"true"`/`"false"` for booleans. Anything else is still an error (and the frame a
// warning).

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A list; `null` is empty.
pub(super) fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A map; `null` is empty.
pub(super) fn map<'de, D: Deserializer<'de>>(d: D) -> Result<Map<String, Value>, D::Error> {
    Ok(Option::<Map<String, Value>>::deserialize(d)?.unwrap_or_default())
}

/// A text; `null` is empty, a number or boolean is its JSON text.
pub(super) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// An optional text; a number or boolean is its JSON text.
pub(super) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        v @ (Value::Number(_) | Value::Bool(_)) => Ok(Some(v.to_string())),
        other => Err(D::Error::custom(format!(
            "expected a string, found {}",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A number from a JSON number or a string holding one.
fn as_f64<E: Error>(v: &Value) -> Result<Option<f64>, E> {
    let n = match v {
        Value::Null => return Ok(None),
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() => Ok(Some(n)),
        _ => Err(E::custom(format!("expected a number, found {}", kind(v)))),
    }
}

/// `n` as a non-negative whole number: a fraction is dropped, a negative number is 0, a huge one
/// the largest.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
)]
fn to_u64(n: f64) -> u64 {
    n.max(0.0).min(u64::MAX as f64) as u64
}

/// `n` as a whole number: a fraction is dropped, one out of range is clamped.
#[allow(
    clippy::cast_possible_truncation,
    reason = "a float-to-integer `as` saturates: out-of-range wire values are clamped on purpose"
)]
fn to_i64(n: f64) -> i64 {
    n as i64
}

/// A non-negative whole number (a fraction is dropped, a negative number is 0).
pub(super) fn opt_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(as_f64::<D::Error>(&v)?.map(to_u64))
}

/// Seconds to wait: a fraction is rounded up (waiting a little longer is always safe).
pub(super) fn seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(as_f64::<D::Error>(&v)?
        .map(|n| to_u64(n.ceil()))
        .unwrap_or_default())
}

/// A code: a whole number, or a string holding one.
pub(super) fn code<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    match as_f64::<D::Error>(&v)? {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => Ok(to_i64(n)),
        _ => Err(D::Error::custom(format!(
            "expected a whole number as code, found {}",
            kind(&v)
        ))),
    }
}

/// A code that may be missing or `null` (then 0).
pub(super) fn code_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(0);
    }
    code(v).map_err(D::Error::custom)
}

/// A boolean, or the string `"true"`/`"false"` (any case).
pub(super) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        other => Err(D::Error::custom(format!(
            "expected a boolean, found {}",
            kind(&other)
        ))),
    }
}

/// A boolean that may be missing or `null` (then false).
pub(super) fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

/// A time: an ISO-8601 string as it is, or a number of epoch milliseconds (seconds when
/// below 10^11, i.e. before 1973 in milliseconds) as ISO-8601.
pub(super) fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        v @ Value::Number(_) => {
            let n = as_f64::<D::Error>(&v)?.unwrap_or_default();
            let millis = if n.abs() < 1e11 { n * 1000.0 } else { n };
            jiff::Timestamp::from_millisecond(to_i64(millis))
                .map(|t| Some(t.to_string()))
                .map_err(|e| D::Error::custom(format!("time {v} out of range: {e}")))
        }
        other => Err(D::Error::custom(format!(
            "expected a time, found {}",
            kind(&other)
        ))),
    }
}

/// A time that may be missing or `null` (then empty).
pub(super) fn time_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_time(d)?.unwrap_or_default())
}

/// An integer given as a JSON number (possibly with a fraction) or a numeric string; anything
/// else is 0.
pub(super) fn whole_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().map(to_i64))
            .unwrap_or_default(),
        Value::String(s) => s.trim().parse::<f64>().map(to_i64).unwrap_or_default(),
        _ => 0,
    })
}
