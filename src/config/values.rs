//! Parsing single values: strings, numbers, Discord IDs, durations, URLs and cron schedules.

use std::str::FromStr;

use chrono::TimeDelta;
use figment::value::{Num, Value};

/// What kind of value `value` is, for "expected …, found …" messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::String(..) | Value::Char(..) => "a string",
        Value::Bool(..) => "a boolean",
        Value::Num(_, num) if num.to_f64().is_some() => "a number",
        Value::Num(..) => "an integer",
        Value::Empty(..) => "nothing",
        Value::Dict(..) => "a table",
        Value::Array(..) => "a list",
    }
}

/// An integer of any width and sign; `None` for a float.
fn whole(num: Num) -> Option<i128> {
    num.to_i128()
        .or_else(|| num.to_u128().and_then(|n| i128::try_from(n).ok()))
}

/// Any number as a float; integers beyond `i32` are clamped, which no range check accepts anyway.
fn real(num: Num) -> f64 {
    num.to_f64().unwrap_or_else(|| {
        let n = whole(num).unwrap_or_default();
        i32::try_from(n).map_or(if n < 0 { f64::MIN } else { f64::MAX }, f64::from)
    })
}

pub(super) fn expected(what: &str, value: &Value) -> String {
    format!("expected {what}, found {}", kind(value))
}

/// Quotes what the operator wrote, unless it is long enough to be a misplaced secret.
pub(super) fn quote(text: &str) -> String {
    if text.chars().count() <= 40 {
        format!("`{text}`")
    } else {
        "the value".to_owned()
    }
}

pub(super) fn string(value: &Value) -> Result<String, String> {
    match value {
        Value::String(_, text) => Ok(text.clone()),
        Value::Char(_, c) => Ok(c.to_string()),
        other => Err(expected("a string", other)),
    }
}

pub(super) fn boolean(value: &Value) -> Result<bool, String> {
    match value {
        Value::Bool(_, b) => Ok(*b),
        Value::String(_, text) if text == "true" => Ok(true),
        Value::String(_, text) if text == "false" => Ok(false),
        other => Err(expected("true or false", other)),
    }
}

/// A whole number in `min..=max`.
pub(super) fn integer<T: TryFrom<i128>>(value: &Value, min: i128, max: i128) -> Result<T, String> {
    let number = match value {
        Value::Num(_, num) => whole(*num),
        Value::String(_, text) => text.trim().parse().ok(),
        _ => None,
    };
    number
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| match value {
            Value::Num(..) | Value::String(..) => {
                format!("must be a whole number from {min} to {max}")
            }
            other => expected(&format!("a whole number from {min} to {max}"), other),
        })
}

/// Any number, integer or not.
pub(super) fn number(value: &Value) -> Result<f64, String> {
    match value {
        Value::Num(_, num) => Ok(real(*num)),
        Value::String(_, text) => text
            .trim()
            .parse()
            .map_err(|_| format!("{} is not a number", quote(text))),
        other => Err(expected("a number", other)),
    }
}

/// A Discord ID: digits that fit a `u64` and are not zero, as a string or, from the environment, a number.
pub(super) fn snowflake(value: &Value) -> Result<u64, String> {
    let hint = "IDs are the digits Discord shows under Copy ID (Developer Mode), \
                written as a string like \"123456789012345678\"";
    let text = match value {
        Value::String(_, text) => text.trim().to_owned(),
        Value::Num(_, num) => match num.to_u128_lossy() {
            Some(n) => n.to_string(),
            None => return Err(format!("not a Discord ID: {hint}")),
        },
        other => return Err(format!("{}; {hint}", expected("a Discord ID", other))),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{} is not a Discord ID: {hint}", quote(&text)));
    }
    match text.parse::<u64>() {
        Ok(0) => Err(format!("0 is not a Discord ID: {hint}")),
        Ok(id) => Ok(id),
        Err(_) => Err(format!(
            "{} is too large for a Discord ID: {hint}",
            quote(&text)
        )),
    }
}

/// A duration written like `15m`, `2h`, `1d` or `0s`.
pub(super) fn duration(value: &Value) -> Result<TimeDelta, String> {
    let hint = "write a duration like \"15m\", \"2h\", \"1d\" or \"0s\"";
    let text = match value {
        Value::String(_, text) => text.trim(),
        Value::Num(_, num) if whole(*num) == Some(0) => "0s",
        other => return Err(format!("{}; {hint}", expected("a duration", other))),
    };
    let std = humantime::parse_duration(text)
        .map_err(|error| format!("{} is not a duration ({error}); {hint}", quote(text)))?;
    TimeDelta::from_std(std).map_err(|_| format!("{} is far too long", quote(text)))
}

/// A duration of at least `min`, written as `min_text` in the message.
pub(super) fn duration_at_least(
    value: &Value,
    min: TimeDelta,
    min_text: &str,
) -> Result<TimeDelta, String> {
    let delta = duration(value)?;
    if delta < min {
        return Err(format!("must be at least {min_text}"));
    }
    Ok(delta)
}

/// An `http://` or `https://` URL; with `bare`, it may not have a path.
pub(super) fn http_url(value: &Value, bare: bool) -> Result<String, String> {
    let text = string(value)?;
    let text = text.trim().trim_end_matches('/');
    let example = if bare {
        "like \"https://discord.com\""
    } else {
        "like \"https://deploy.example.com/hooks/gonogo\""
    };
    let url = reqwest::Url::parse(text)
        .map_err(|error| format!("{} is not a URL ({error}); write it {example}", quote(text)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "{} is not an http:// or https:// URL; write it {example}",
            quote(text)
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("{} has no host; write it {example}", quote(text)));
    }
    if bare && (url.path() != "/" || url.query().is_some() || url.fragment().is_some()) {
        return Err(format!(
            "{} has a path; give only the scheme and host, {example}",
            quote(text)
        ));
    }
    Ok(text.to_owned())
}

/// A cron schedule with a seconds field, such as `0 0 9-16 * * Mon-Thu`.
pub(super) fn schedule(value: &Value) -> Result<cron::Schedule, String> {
    let text = string(value)?;
    let text = text.trim();
    cron::Schedule::from_str(text).map_err(|error| {
        let hint = if text.split_whitespace().count() == 5 {
            format!(
                "this cron has a seconds field first, so write \"0 {text}\" for the usual five fields"
            )
        } else {
            "write six fields, seconds first, like \"0 0 9-16 * * Mon-Thu\"".to_owned()
        };
        format!(
            "{} is not a cron schedule ({error}); {hint}",
            quote(text)
        )
    })
}
