//! Kubernetes resource quantities (`500m`, `0.5`, `128Mi`, `1G`, `1e3`) and their exact conversion to millicores and bytes.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A quantity as written by the user; parsed on demand. Deserialization checks the syntax and
/// accepts a JSON string or number; serialization always writes a string, as Kubernetes does.
#[derive(Clone, Debug, PartialEq)]
pub struct Quantity(pub String);

/// Kubernetes' message for a quantity that does not parse.
const SYNTAX_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// The exact value `sign * digits / 10^scale * base^exp`, kept as integers so conversions round
/// exactly like Kubernetes (up, away from zero) instead of through floating point.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    negative: bool,
    digits: u128,
    scale: u32,
    base: u32,
    exp: i32,
}

impl Quantity {
    /// Checks the syntax and wraps the string.
    pub fn parse(s: &str) -> Result<Quantity, String> {
        parse(s)?;
        Ok(Quantity(s.to_string()))
    }

    /// CPU in millicores, rounded up (`0.5` -> 500, `100m` -> 100, `1` -> 1000, `0.0001` -> 1).
    pub fn parse_cpu_millis(&self) -> Result<i64, String> {
        scaled(&self.0, 1000)
    }

    /// Bytes, rounded up (`128Mi` -> 134217728, `1G` -> 1000000000, `1.5Ki` -> 1536).
    pub fn parse_bytes(&self) -> Result<i64, String> {
        scaled(&self.0, 1)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Quantity {
    type Err = String;
    fn from_str(s: &str) -> Result<Quantity, String> {
        Quantity::parse(s)
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Quantity, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity such as \"500m\", \"1\", 2 or \"128Mi\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::custom(SYNTAX_ERROR));
                }
                // `{}` on f64 prints the shortest decimal that round-trips, never an exponent.
                Quantity::parse(&format!("{v}")).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits `s` into number and suffix and resolves the suffix to a base and exponent.
fn parse(s: &str) -> Result<Parsed, String> {
    let bad = || format!("{SYNTAX_ERROR} (got {s:?})");
    if s.is_empty() {
        return Err("quantity must not be empty".to_string());
    }
    let (negative, rest) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(num_len);
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac_part.contains('.') || (int_part.is_empty() && frac_part.is_empty()) {
        return Err(bad());
    }
    // Trailing fractional zeros carry no value; dropping them keeps `digits` small.
    let frac_part = frac_part.trim_end_matches('0');
    let all_digits = format!("{int_part}{frac_part}");
    let all_digits = all_digits.trim_start_matches('0');
    if all_digits.len() > 38 {
        return Err(format!("quantity {s:?} has too many digits"));
    }
    let digits: u128 = if all_digits.is_empty() {
        0
    } else {
        all_digits.parse().map_err(|_| bad())?
    };
    let scale = frac_part.len() as u32;
    let (base, exp) = match suffix {
        "" => (10, 0),
        "n" => (10, -9),
        "u" => (10, -6),
        "m" => (10, -3),
        "k" => (10, 3),
        "M" => (10, 6),
        "G" => (10, 9),
        "T" => (10, 12),
        "P" => (10, 15),
        "E" => (10, 18),
        "Ki" => (2, 10),
        "Mi" => (2, 20),
        "Gi" => (2, 30),
        "Ti" => (2, 40),
        "Pi" => (2, 50),
        "Ei" => (2, 60),
        _ => match suffix.strip_prefix(['e', 'E']) {
            Some(e) if is_exponent(e) => {
                let exp: i32 = e.parse().map_err(|_| format!("quantity {s:?}: exponent out of range"))?;
                (10, exp)
            }
            _ => {
                return Err(format!(
                    "{} (got {s:?}; unknown suffix {suffix:?}: use m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like e3)",
                    SYNTAX_ERROR
                ))
            }
        },
    };
    Ok(Parsed {
        negative,
        digits,
        scale,
        base,
        exp,
    })
}

/// An optionally signed, non-empty run of digits.
fn is_exponent(e: &str) -> bool {
    let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// `value * unit`, rounded up away from zero, as an i64.
fn scaled(s: &str, unit: u128) -> Result<i64, String> {
    let p = parse(s)?;
    let too_large = || format!("quantity {s:?} is too large");
    if p.digits == 0 {
        return Ok(0);
    }
    // value * unit = digits * unit * base^exp / 10^scale
    let mut num = p.digits.checked_mul(unit).ok_or_else(too_large)?;
    let mut den: u128 = 10u128.checked_pow(p.scale).ok_or_else(too_large)?;
    let pow = |e: i32| (p.base as u128).checked_pow(e.unsigned_abs());
    if p.exp >= 0 {
        num = pow(p.exp)
            .and_then(|m| num.checked_mul(m))
            .ok_or_else(too_large)?;
    } else {
        match pow(p.exp).and_then(|m| den.checked_mul(m)) {
            Some(d) => den = d,
            // The divisor exceeds u128 and so any numerator: the exact value is a positive
            // fraction below one unit, which rounds up to one.
            None => return Ok(if p.negative { -1 } else { 1 }),
        }
    }
    let q = num.div_ceil(den);
    let q = i64::try_from(q).map_err(|_| too_large())?;
    Ok(if p.negative { -q } else { q })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(s: &str) -> Result<i64, String> {
        Quantity(s.into()).parse_cpu_millis()
    }
    fn bytes(s: &str) -> Result<i64, String> {
        Quantity(s.into()).parse_bytes()
    }

    #[test]
    fn cpu_millis() {
        let table = [
            ("500m", 500),
            ("0.5", 500),
            (".5", 500),
            ("1", 1000),
            ("2", 2000),
            ("+1", 1000),
            ("-1", -1000),
            ("100m", 100),
            ("0.1", 100),
            ("0.0001", 1),
            ("1.0001", 1001),
            ("1500u", 2),
            ("1n", 1),
            ("0", 0),
            ("0m", 0),
            ("1e3", 1_000_000),
            ("1E-3", 1),
            ("1e-30", 1),
            ("1k", 1_000_000),
            ("1.5", 1500),
            ("2.000", 2000),
        ];
        for (s, want) in table {
            assert_eq!(cpu(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn byte_values() {
        let table = [
            ("128Mi", 134_217_728),
            ("1Ki", 1024),
            ("1.5Ki", 1536),
            ("1Gi", 1 << 30),
            ("8Ei", i64::MAX),
            ("1G", 1_000_000_000),
            ("1M", 1_000_000),
            ("1k", 1000),
            ("1e3", 1000),
            ("129e6", 129_000_000),
            ("123", 123),
            ("0.5", 1),
            ("100m", 1),
            ("1Ti", 1 << 40),
            ("1P", 1_000_000_000_000_000),
            ("1E", 1_000_000_000_000_000_000),
        ];
        for (s, want) in table {
            if s == "8Ei" {
                assert!(bytes(s).unwrap_err().contains("too large"));
                continue;
            }
            assert_eq!(bytes(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn syntax_errors() {
        for s in [
            "", "abc", "1.2.3", "1Kb", "1 Gi", "Mi", ".", "1e", "1e+", "1ki", "--1", "1mi", "0x10",
        ] {
            let e = Quantity::parse(s).unwrap_err();
            assert!(e.contains("quantit"), "{s}: {e}");
        }
        assert!(Quantity::parse("1Kb")
            .unwrap_err()
            .contains("unknown suffix \"Kb\""));
        assert!(bytes("99999999999999999999999999999999999999999")
            .unwrap_err()
            .contains("too many digits"));
        assert!(cpu("1e40").unwrap_err().contains("too large"));
    }

    #[test]
    fn serde_accepts_strings_and_numbers() {
        let q: Quantity = serde_json::from_str("\"500m\"").unwrap();
        assert_eq!(q, Quantity("500m".into()));
        let q: Quantity = serde_json::from_str("2").unwrap();
        assert_eq!(q.parse_cpu_millis(), Ok(2000));
        let q: Quantity = serde_json::from_str("0.25").unwrap();
        assert_eq!(q, Quantity("0.25".into()));
        assert_eq!(q.parse_cpu_millis(), Ok(250));
        assert_eq!(
            serde_json::to_string(&Quantity("1".into())).unwrap(),
            "\"1\""
        );
        let e = serde_json::from_str::<Quantity>("\"lots\"")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("quantities must match the regular expression"),
            "{e}"
        );
        assert!(serde_json::from_str::<Quantity>("true").is_err());
    }
}
