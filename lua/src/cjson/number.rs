//! C's `%.<precision>g`, the number format lua-cjson writes (`encode_number_precision`).

use std::io::Write;

/// Appends `n` formatted as `printf("%.{precision}g", n)` (precision 1..=16; NaN and the
/// infinities are the caller's business).
pub(super) fn format_g(out: &mut Vec<u8>, n: f64, precision: usize) {
    let precision = precision.clamp(1, 17);
    if n == 0.0 {
        out.extend_from_slice(if n.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    if n.fract() == 0.0 && n.abs() < 10f64.powi(precision as i32) {
        let _ = write!(out, "{}", n as i64);
        return;
    }
    let sci = format!("{:.*e}", precision - 1, n);
    let (mantissa, exp) = sci.split_once('e').expect("`{:e}` has an exponent");
    let exp: i32 = exp.parse().expect("`{:e}` exponent is an integer");
    if exp < -4 || exp >= precision as i32 {
        out.extend_from_slice(trim_fraction(mantissa).as_bytes());
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else {
        let fixed = format!("{:.*}", (precision as i32 - 1 - exp) as usize, n);
        out.extend_from_slice(trim_fraction(&fixed).as_bytes());
    }
}

/// `%g` drops trailing zeros of the fraction, and the point if nothing is left after it.
fn trim_fraction(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::format_g;

    fn g(n: f64, p: usize) -> String {
        let mut out = Vec::new();
        format_g(&mut out, n, p);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_printf_g() {
        assert_eq!(g(1.0, 14), "1");
        assert_eq!(g(-0.0, 14), "-0");
        assert_eq!(g(0.1, 14), "0.1");
        assert_eq!(g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(g(100000000000000.0, 14), "1e+14");
        assert_eq!(g(99999999999999.0, 14), "99999999999999");
        assert_eq!(g(123456789012345.6, 14), "1.2345678901235e+14");
        assert_eq!(g(0.0001, 14), "0.0001");
        assert_eq!(g(0.00001, 14), "1e-05");
        assert_eq!(g(1.5e-7, 14), "1.5e-07");
        assert_eq!(g(1e300, 14), "1e+300");
        assert_eq!(g(1.23456, 3), "1.23");
        assert_eq!(g(-2.5, 14), "-2.5");
        assert_eq!(g(1234.5, 4), "1234");
        assert_eq!(g(12345.0, 4), "1.234e+04");
        assert_eq!(g(0.1 + 0.2, 16), "0.3");
        assert_eq!(g(0.1 + 0.2, 17), "0.30000000000000004");
        assert_eq!(g(2.0f64.powi(53), 16), "9007199254740992");
    }
}
