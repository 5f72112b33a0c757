//! Checks on a WebDAV request before `dav-server` sees it: its XML parser
//! builds a tree recursively (deep nesting overflows the stack), a `Range`
//! header of many overlapping ranges multiplies the bytes sent, and a
//! `Destination` may name another server.
use axum::http::{HeaderMap, header};

/// Deepest element nesting a WebDAV XML body may have (real clients use < 8).
pub const MAX_XML_DEPTH: usize = 32;
/// Largest `LOCK` body: its `owner` is kept with the lock for as long as it lives.
pub const MAX_LOCK_BODY: usize = 16 * 1024;

/// Why an XML body is refused, if it is: nested deeper than [`MAX_XML_DEPTH`],
/// or declaring a DTD (entities are never needed, and can expand without bound).
pub fn check_xml(body: &[u8]) -> Result<(), &'static str> {
    let mut depth = 0usize;
    let mut i = 0usize;
    while i < body.len() {
        if body[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &body[i..];
        if rest.starts_with(b"<!--") {
            i += find(rest, b"-->").map_or(body.len(), |end| end + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            i += find(rest, b"]]>").map_or(body.len(), |end| end + 3);
        } else if rest.starts_with(b"<!") {
            return Err("a document type declaration is not accepted");
        } else if rest.starts_with(b"<?") {
            i += find(rest, b"?>").map_or(body.len(), |end| end + 2);
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i += 2;
        } else {
            let (len, self_closing) = tag_length(rest);
            if !self_closing {
                depth += 1;
                if depth > MAX_XML_DEPTH {
                    return Err("the XML body nests elements too deeply");
                }
            }
            i += len;
        }
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The length of the start tag at the front of `tag` (quotes respected), and
/// whether it closes itself (`<a/>`).
fn tag_length(tag: &[u8]) -> (usize, bool) {
    let mut quote = None;
    for (n, &byte) in tag.iter().enumerate().skip(1) {
        match (quote, byte) {
            (Some(q), b) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'>') => return (n + 1, tag[n - 1] == b'/'),
            _ => {}
        }
    }
    (tag.len(), false)
}

/// Drop a `Range` header that asks for more than `max` ranges, or for ranges
/// that overlap: the whole file is sent once instead (RFC 9110 §14.2 lets a
/// server ignore `Range`). Returns whether it was dropped.
pub fn bound_ranges(headers: &mut HeaderMap, max: usize) -> bool {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return false;
    };
    let ranges: Vec<&str> = spec.split(',').map(str::trim).collect();
    let excessive = ranges.len() > max || (ranges.len() > 1 && overlapping(&ranges));
    if excessive {
        headers.remove(header::RANGE);
    }
    excessive
}

/// Whether any two ranges may overlap (suffix ranges, `-N`, are taken to).
fn overlapping(ranges: &[&str]) -> bool {
    let mut spans = Vec::with_capacity(ranges.len());
    for range in ranges {
        let Some((first, last)) = range.split_once('-') else {
            continue;
        };
        let Ok(start) = first.trim().parse::<u64>() else {
            // A suffix range covers the end: it may overlap anything.
            return true;
        };
        let end = last.trim().parse::<u64>().unwrap_or(u64::MAX);
        spans.push((start, end));
    }
    spans.sort_unstable();
    spans.windows(2).any(|w| w[1].0 <= w[0].1)
}

/// Whether `Destination` (COPY, MOVE) names a host other than the request's own.
pub fn foreign_destination(headers: &HeaderMap, authority: Option<&str>) -> bool {
    let Some(destination) = headers.get("destination").and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let Some((_, rest)) = destination.split_once("://") else {
        return false; // an absolute path: this server
    };
    let target = rest.split('/').next().unwrap_or_default();
    let own = authority.or_else(|| headers.get(header::HOST).and_then(|v| v.to_str().ok()));
    !own.is_some_and(|own| own.eq_ignore_ascii_case(target))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn xml_depth_and_doctypes_are_bounded() {
        let ok = br#"<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><x a="/>">t</x></D:prop></D:propfind>"#;
        assert_eq!(check_xml(ok), Ok(()));
        let deep = format!("{}{}", "<a>".repeat(5000), "</a>".repeat(5000));
        assert!(check_xml(deep.as_bytes()).is_err());
        let flat = "<a/>".repeat(5000);
        assert_eq!(check_xml(flat.as_bytes()), Ok(()));
        assert!(check_xml(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>").is_err());
        assert_eq!(
            check_xml(b"<x><!-- <a><a><a> --><![CDATA[<b><b>]]></x>"),
            Ok(())
        );
    }

    fn with_range(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, value.parse().expect("header"));
        headers
    }

    #[test]
    fn many_or_overlapping_ranges_are_ignored() {
        assert!(!bound_ranges(&mut with_range("bytes=0-9"), 16));
        assert!(bound_ranges(&mut with_range("bytes=0-9,20-29,-5"), 16));
        assert!(!bound_ranges(&mut with_range("bytes=0-9,20-29"), 16));
        assert!(bound_ranges(&mut with_range("bytes=0-9,5-29"), 16));
        assert!(bound_ranges(&mut with_range("bytes=0-,100-200"), 16));
        let many = format!(
            "bytes={}",
            (0..20)
                .map(|i| format!("{}-{}", i * 10, i * 10 + 1))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut headers = with_range(&many);
        assert!(bound_ranges(&mut headers, 16));
        assert!(headers.get(header::RANGE).is_none());
    }

    #[test]
    fn destinations_on_other_hosts_are_foreign() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "files.example:8000".parse().expect("h"));
        headers.insert(
            "destination",
            "http://files.example:8000/webdav/b".parse().expect("h"),
        );
        assert!(!foreign_destination(&headers, None));
        headers.insert(
            "destination",
            "http://evil.example/webdav/b".parse().expect("h"),
        );
        assert!(foreign_destination(&headers, None));
        headers.insert("destination", "/webdav/b".parse().expect("h"));
        assert!(!foreign_destination(&headers, None));
    }

    proptest::proptest! {
        #[test]
        fn xml_checks_end_without_panic(body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..512),
            "(<[a-z:]{0,4}( [a-z]=\"[^\"]{0,4}\")?/?>|</[a-z]{0,3}>|<!--|-->|<!\\[CDATA\\[|\\]\\]>|<\\?|\\?>|[a-z ]){0,300}".prop_map(String::into_bytes),
        ]) {
            let _ = check_xml(&body);
        }

        #[test]
        fn kept_ranges_are_few_and_disjoint(value in "bytes=((-?[0-9]{0,4}-?[0-9]{0,4}),?){0,40}", max in 1usize..20) {
            let mut headers = HeaderMap::new();
            headers.insert(header::RANGE, value.parse().expect("header"));
            if !bound_ranges(&mut headers, max) {
                let spec = value.trim_start_matches("bytes=");
                let ranges: Vec<&str> = spec.split(',').map(str::trim).collect();
                proptest::prop_assert!(ranges.len() <= max);
                proptest::prop_assert!(ranges.len() <= 1 || !overlapping(&ranges));
            }
        }
    }
}
