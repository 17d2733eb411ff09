//! The one rule for `region` (the file's `config.region` or `-r`/`--region`), used by
//! `scripted`, `ai`, `load` and `validate`: it must be the bare domain of a Genesys Cloud
//! region, e.g. `mypurecloud.ie`, from which every URL is built
//! (`wss://webmessaging.{domain}/v1`, `https://api-cdn.{domain}/…`).
//!
//! Accepted: the known regions below, and any `<name>.pure.cloud` or
//! `<name>.us-gov-pure.cloud` (the pattern of every region Genesys added since 2019, so a new
//! region works before this list knows it). Refused, with a suggestion: a URL, a path, a port,
//! a host under a region's domain (`api.mypurecloud.ie`), and any other domain; the closest
//! known region is offered when one is close.

use web_messaging_input::InputError;

/// The regions' domains Genesys publishes (its SDKs' region lists), then its internal
/// development and test domains.
pub const KNOWN_REGIONS: &[&str] = &[
    "mypurecloud.com",
    "mypurecloud.ie",
    "mypurecloud.de",
    "mypurecloud.jp",
    "mypurecloud.com.au",
    "usw2.pure.cloud",
    "cac1.pure.cloud",
    "euw2.pure.cloud",
    "aps1.pure.cloud",
    "apne2.pure.cloud",
    "apne3.pure.cloud",
    "use2.us-gov-pure.cloud",
    "sae1.pure.cloud",
    "mec1.pure.cloud",
    "euc2.pure.cloud",
    "mxc1.pure.cloud",
    "apse1.pure.cloud",
    "inindca.com",
    "inintca.com",
];

/// Domains under which any single-label name is taken as a region.
const REGION_PARENTS: &[&str] = &[".pure.cloud", ".us-gov-pure.cloud"];

/// Checks a region's value; the error says what is wrong and what to give instead.
pub fn check(value: &str) -> Result<(), String> {
    let lower = value.trim().to_ascii_lowercase();
    if KNOWN_REGIONS.contains(&lower.as_str()) || is_region_pattern(&lower) {
        return Ok(());
    }
    let hint = match suggestion(&lower) {
        Some(region) => format!("give the bare domain, e.g. {region}"),
        None => "give the bare domain, e.g. mypurecloud.ie".to_string(),
    };
    let not_bare = if lower.contains("://") {
        Some("a URL")
    } else if lower.contains('/') {
        Some("a path")
    } else if lower.contains(':') {
        Some("a port")
    } else if lower
        .chars()
        .any(|c| c.is_whitespace() || "?#@".contains(c))
    {
        Some("a domain")
    } else {
        None
    };
    match not_bare {
        Some(what) => Err(format!(
            "must be the bare domain of a Genesys Cloud region, not {what} ('{value}'): {hint} \
             (a full WebSocket URL goes in endpoint / --endpoint)"
        )),
        None if KNOWN_REGIONS
            .iter()
            .any(|region| lower.ends_with(&format!(".{region}"))) =>
        {
            Err(format!(
                "must be the bare domain of a Genesys Cloud region, not a host under it \
                 ('{value}'): {hint}"
            ))
        }
        None => {
            let hint = match suggestion(&lower) {
                Some(region) => format!("did you mean {region}?"),
                None => "give the bare domain of a region, e.g. mypurecloud.ie.".to_string(),
            };
            Err(format!(
                "'{value}' is not a known Genesys Cloud region: {hint} Known regions: {}; also \
                 any <name>.pure.cloud. For another host, give endpoint / --endpoint",
                KNOWN_REGIONS.join(", ")
            ))
        }
    }
}

/// Checks the region a command will use: `cli` (`--region`) when given, else the file's, with
/// the file's position (`site`: an error whose message is filled in here).
pub fn check_setting(
    cli: Option<&str>,
    file: Option<&str>,
    site: Option<&InputError>,
) -> Result<(), InputError> {
    if let Some(value) = cli {
        return check(value).map_err(|reason| InputError::setting("--region", reason));
    }
    let Some(value) = file else { return Ok(()) };
    check(value).map_err(|reason| match site {
        Some(site) => InputError {
            message: reason,
            ..site.clone()
        },
        None => InputError::setting("config.region", reason),
    })
}

fn is_region_pattern(domain: &str) -> bool {
    REGION_PARENTS.iter().any(|parent| {
        domain.strip_suffix(parent).is_some_and(|name| {
            !name.is_empty()
                && name.len() <= 63
                && !name.starts_with('-')
                && !name.ends_with('-')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
    })
}

/// The known region the value most likely means: one found inside it as a host's domain
/// (`wss://webmessaging.mypurecloud.ie/v1`, `api.mypurecloud.de`), else the closest spelling
/// (at most 3 edits away).
fn suggestion(value: &str) -> Option<&'static str> {
    let host = value
        .split_once("://")
        .map_or(value, |(_, rest)| rest)
        .split(['/', ':', '?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('.');
    // The longest match, so `x.mypurecloud.com.au` is not taken for `mypurecloud.com`.
    let inside = KNOWN_REGIONS
        .iter()
        .filter(|region| host == **region || host.ends_with(&format!(".{region}")))
        .max_by_key(|region| region.len());
    if let Some(region) = inside {
        return Some(region);
    }
    KNOWN_REGIONS
        .iter()
        .map(|region| (genesys_platform::edit_distance(host, region), *region))
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, region)| region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_known_regions_and_the_region_pattern() {
        for ok in [
            "mypurecloud.ie",
            "MyPureCloud.com.au",
            "use2.us-gov-pure.cloud",
            "xxxx.pure.cloud",
            "inindca.com",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_urls_paths_and_ports_with_the_bare_domain() {
        let e = check("wss://webmessaging.mypurecloud.ie/v1").unwrap_err();
        assert!(e.contains("not a URL"), "{e}");
        assert!(
            e.contains("give the bare domain, e.g. mypurecloud.ie"),
            "{e}"
        );
        let e = check("mypurecloud.de/v1").unwrap_err();
        assert!(
            e.contains("not a path") && e.contains("e.g. mypurecloud.de"),
            "{e}"
        );
        let e = check("mypurecloud.jp:443").unwrap_err();
        assert!(
            e.contains("not a port") && e.contains("e.g. mypurecloud.jp"),
            "{e}"
        );
        let e = check("api.mypurecloud.com.au").unwrap_err();
        assert!(e.contains("e.g. mypurecloud.com.au"), "{e}");
    }

    #[test]
    fn suggests_close_matches_for_unknown_domains() {
        let e = check("mypurecloud.ei").unwrap_err();
        assert!(e.contains("not a known Genesys Cloud region"), "{e}");
        assert!(e.contains("did you mean mypurecloud.ie?"), "{e}");
        let e = check("example.org").unwrap_err();
        assert!(
            e.contains("e.g. mypurecloud.ie. Known regions: mypurecloud.com"),
            "{e}"
        );
        assert!(check("bad_name.pure.cloud").is_err());
        assert!(check(".pure.cloud").is_err());
    }

    #[test]
    fn the_command_line_wins_and_file_errors_keep_their_position() {
        let site = InputError {
            file: Some("t.yml".into()),
            line: Some(3),
            column: Some(11),
            key: Some("config.region".into()),
            message: String::new(),
        };
        let e = check_setting(None, Some("wss://x"), Some(&site)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yml:3:11: \"config.region\" must be"),
            "{e}"
        );
        let e = check_setting(Some("nope"), Some("mypurecloud.ie"), Some(&site)).unwrap_err();
        assert_eq!(e.key.as_deref(), Some("--region"));
        assert!(check_setting(Some("mypurecloud.ie"), Some("wss://x"), Some(&site)).is_ok());
    }
}
