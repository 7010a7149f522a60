//! Responses the gateway makes itself, with Kong's bodies and headers so clients and tests
//! written against Kong see the same thing.

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};

use super::body::Body;

/// Kong's default message for a status (`kong.response.error` without a message).
pub fn default_message(status: StatusCode) -> String {
    let msg = match status.as_u16() {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not found",
        405 => "Method not allowed",
        408 => "Request timeout",
        411 => "Length required",
        412 => "Precondition failed",
        413 => "Payload too large",
        414 => "URI too long",
        417 => "Expectation failed",
        494 => "Request header or cookie too large",
        500 => "An unexpected error occurred",
        502 => "An invalid response was received from the upstream server",
        503 => "The upstream server is currently unavailable",
        504 => "The upstream server is timing out",
        other => return format!("The upstream server responded with {other}"),
    };
    msg.to_string()
}

/// A JSON `{"message": ...}` response, as `kong.response.error` makes.
pub fn json_error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "message": message }))
}

/// A JSON response made by the gateway itself.
pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Body> {
    let body = value.to_string();
    let len = body.len();
    let mut resp = Response::new(Body::full(body));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

/// `json_error` with Kong's default message for the status.
pub fn kong_error(status: StatusCode) -> Response<Body> {
    json_error(status, &default_message(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_kong() {
        assert_eq!(
            default_message(StatusCode::BAD_GATEWAY),
            "An invalid response was received from the upstream server"
        );
        assert_eq!(
            default_message(StatusCode::from_u16(418).unwrap()),
            "The upstream server responded with 418"
        );
    }
}
