//! `ngx.time`, `ngx.now` and the nginx time formats. Time is read from the clock on every
//! call (nginx caches it per event-loop turn), so `ngx.update_time()` has nothing to do.

use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Local, NaiveDate, Utc};
use mlua::{Lua, Result, Table, Value};

use crate::args::{check_number, check_string};

pub(super) fn install(lua: &Lua, ngx: &Table) -> Result<()> {
    ngx.raw_set("time", lua.create_function(|_, ()| Ok(now_ms() / 1000))?)?;
    ngx.raw_set(
        "now",
        lua.create_function(|_, ()| Ok(now_ms() as f64 / 1000.0))?,
    )?;
    ngx.raw_set("update_time", lua.create_function(|_, ()| Ok(()))?)?;
    ngx.raw_set(
        "today",
        lua.create_function(|_, ()| Ok(Local::now().format("%Y-%m-%d").to_string()))?,
    )?;
    ngx.raw_set(
        "localtime",
        lua.create_function(|_, ()| Ok(Local::now().format("%Y-%m-%d %H:%M:%S").to_string()))?,
    )?;
    ngx.raw_set(
        "utctime",
        lua.create_function(|_, ()| Ok(Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()))?,
    )?;
    ngx.raw_set(
        "http_time",
        lua.create_function(|lua, sec: Value| {
            let t = utc(check_number(lua, sec, 1, "http_time")?)?;
            Ok(t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        })?,
    )?;
    ngx.raw_set(
        "cookie_time",
        lua.create_function(|lua, sec: Value| {
            Ok(cookie_time(&utc(check_number(
                lua,
                sec,
                1,
                "cookie_time",
            )?)?))
        })?,
    )?;
    ngx.raw_set(
        "parse_http_time",
        lua.create_function(|lua, s: Value| {
            let s = check_string(lua, s, 1, "parse_http_time")?;
            Ok(parse_http_time(&s.as_bytes()))
        })?,
    )
}

/// Milliseconds since the epoch (nginx keeps time at millisecond resolution).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn utc(sec: f64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp(sec as i64, 0)
        .ok_or_else(|| mlua::Error::runtime(format!("time {sec} out of range")))
}

/// nginx's cookie date: a two-digit year up to 2037 (for old Netscape), four digits after.
fn cookie_time(t: &DateTime<Utc>) -> String {
    if t.year() > 2037 {
        t.format("%a, %d-%b-%Y %H:%M:%S GMT").to_string()
    } else {
        t.format("%a, %d-%b-%y %H:%M:%S GMT").to_string()
    }
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `ngx.parse_http_time`: RFC 1123 (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850
/// (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov  6 08:49:37 1994`); seconds since
/// the epoch, or `None` for anything else.
fn parse_http_time(s: &[u8]) -> Option<i64> {
    let mut p = Cursor { s, i: 0 };
    // the weekday name is not checked, as nginx
    while p.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
        p.i += 1;
    }
    let (day, month, year, hour, min, sec);
    if p.eat(b',') {
        p.eat(b' ');
        day = p.digits(2)?;
        let sep = p.next()?;
        if sep != b' ' && sep != b'-' {
            return None;
        }
        month = p.month()?;
        if p.next()? != sep {
            return None;
        }
        year = if sep == b'-' {
            let yy = p.digits(2)?;
            if yy < 70 {
                2000 + yy
            } else {
                1900 + yy
            }
        } else {
            p.digits(4)?
        };
        p.expect(b' ')?;
        (hour, min, sec) = p.clock()?;
        p.eat(b' ');
        if !p.rest().is_empty() && p.rest() != b"GMT" {
            return None;
        }
    } else {
        p.expect(b' ')?;
        month = p.month()?;
        p.expect(b' ')?;
        if p.eat(b' ') {
            day = p.digits(1)?;
        } else {
            day = p.digits(2)?;
        }
        p.expect(b' ')?;
        (hour, min, sec) = p.clock()?;
        p.expect(b' ')?;
        year = p.digits(4)?;
        if !p.rest().is_empty() {
            return None;
        }
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = date.and_hms_opt(hour, min, sec)?;
    Some(time.and_utc().timestamp())
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn rest(&self) -> &[u8] {
        &self.s[self.i..]
    }

    fn digits(&mut self, n: usize) -> Option<u32> {
        let part = self.s.get(self.i..self.i + n)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        Some(part.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
    }

    fn month(&mut self) -> Option<u32> {
        let name = self.s.get(self.i..self.i + 3)?;
        let m = MONTHS.iter().position(|m| &m[..] == name)?;
        self.i += 3;
        Some(m as u32 + 1)
    }

    fn clock(&mut self) -> Option<(u32, u32, u32)> {
        let h = self.digits(2)?;
        self.expect(b':')?;
        let m = self.digits(2)?;
        self.expect(b':')?;
        let s = self.digits(2)?;
        Some((h, m, s))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_http_time;
    use crate::testing::{run, vm};

    #[test]
    fn parses_the_three_http_date_forms() {
        assert_eq!(
            parse_http_time(b"Thu, 18 Nov 2010 11:27:35 GMT"),
            Some(1290079655)
        );
        assert_eq!(
            parse_http_time(b"Thursday, 18-Nov-10 11:27:35 GMT"),
            Some(1290079655)
        );
        assert_eq!(
            parse_http_time(b"Thu Nov 18 11:27:35 2010"),
            Some(1290079655)
        );
        assert_eq!(
            parse_http_time(b"Sun Nov  6 08:49:37 1994"),
            Some(784111777)
        );
        assert_eq!(parse_http_time(b"Thu, 31 Feb 2010 11:27:35 GMT"), None);
        assert_eq!(parse_http_time(b"garbage"), None);
        assert_eq!(parse_http_time(b""), None);
    }

    #[test]
    fn time_functions() {
        run(
            &vm(),
            r##"
            local t, n = ngx.time(), ngx.now()
            assert(math.floor(t) == t and t > 1600000000)
            assert(n >= t and n < t + 2)
            assert(math.abs(n * 1000 - math.floor(n * 1000 + 0.5)) < 1e-3)
            assert(ngx.update_time() == nil)
            assert(ngx.today():match("^%d%d%d%d%-%d%d%-%d%d$"))
            assert(ngx.localtime():match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$"))
            assert(ngx.utctime():match("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$"))
            assert(ngx.http_time(1290079655) == "Thu, 18 Nov 2010 11:27:35 GMT")
            assert(ngx.cookie_time(1290079655) == "Thu, 18-Nov-10 11:27:35 GMT")
            assert(ngx.cookie_time(2200000000) == "Sun, 18-Sep-2039 23:06:40 GMT")
            assert(ngx.parse_http_time("Thu, 18 Nov 2010 11:27:35 GMT") == 1290079655)
            assert(ngx.parse_http_time("nope") == nil)
            assert(not pcall(ngx.http_time, "x"))
        "##,
        );
    }
}
