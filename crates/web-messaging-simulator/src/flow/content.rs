//! Rich content beyond quick replies and cards: attachments and DatePicker offers, and the
//! `datePicked` condition that matches the guest's answer to a DatePicker.
//!
//! Compiled here from the raw types, rendered to JSON by the connection (the frames are built
//! with `serde_json`, independently of the client library's types).

use super::raw::{RawAttachment, RawDatePicker, at};
use super::{Context, FlowError, template};
use crate::template::Template;
use serde_json::{Map, Value, json};
use serde_saphyr::{Location, Spanned};

/// The largest `attachment.fileSize` a flow may give, in bytes (2 GiB).
const MAX_FILE_SIZE: u64 = 2 << 30;
/// The longest DatePicker slot, in seconds (31 days).
const MAX_SLOT_SECONDS: u64 = 31 * 24 * 60 * 60;
/// The most times one DatePicker may offer (the simulator's bound; Genesys' is undocumented).
const MAX_SLOTS: usize = 1000;

/// The documented attachment media types (`mediaType`).
const MEDIA_TYPES: [&str; 5] = ["Image", "File", "Audio", "Video", "Link"];

/// An attachment a bot or agent reply carries.
#[derive(Debug, Clone)]
pub(crate) struct AttachmentTemplate {
    pub(crate) filename: Template,
    /// One of [`MEDIA_TYPES`].
    pub(crate) media_type: &'static str,
    pub(crate) mime: Option<Template>,
    pub(crate) file_size: Option<u64>,
    /// `None`: a download URL on the simulator's own port.
    pub(crate) url: Option<Template>,
}

/// An attachment with the captured values filled in, waiting for its id.
#[derive(Debug, Clone)]
pub(crate) struct RenderedAttachment {
    filename: String,
    media_type: &'static str,
    mime: Option<String>,
    file_size: Option<u64>,
    url: Option<String>,
}

impl AttachmentTemplate {
    pub(crate) fn render(&self, captures: &super::Captures) -> RenderedAttachment {
        RenderedAttachment {
            filename: self.filename.render(captures),
            media_type: self.media_type,
            mime: self.mime.as_ref().map(|t| t.render(captures)),
            file_size: self.file_size,
            url: self.url.as_ref().map(|t| t.render(captures)),
        }
    }
}

impl RenderedAttachment {
    /// The `content` item, as Genesys' captures show it:
    /// `{"contentType":"Attachment","attachment":{"id","filename","mediaType","mime","fileSize"?,"url"}}`.
    /// Without a URL of its own, the attachment is offered at `{downloads}/{id}`.
    pub(crate) fn to_content(&self, id: &str, downloads: &str) -> Value {
        let mut attachment = Map::new();
        attachment.insert("id".into(), id.into());
        attachment.insert("filename".into(), self.filename.clone().into());
        attachment.insert("mediaType".into(), self.media_type.into());
        if let Some(mime) = &self.mime {
            attachment.insert("mime".into(), mime.clone().into());
        }
        if let Some(size) = self.file_size {
            attachment.insert("fileSize".into(), size.into());
        }
        let url = self
            .url
            .clone()
            .unwrap_or_else(|| format!("{}/{id}", downloads.trim_end_matches('/')));
        attachment.insert("url".into(), url.into());
        json!({"contentType": "Attachment", "attachment": attachment})
    }
}

/// A DatePicker a bot reply offers.
#[derive(Debug, Clone)]
pub(crate) struct DatePickerTemplate {
    pub(crate) title: Template,
    pub(crate) subtitle: Option<Template>,
    pub(crate) image_url: Option<Template>,
    pub(crate) slots: Vec<Slot>,
}

/// One offered time.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) at: jiff::Timestamp,
    /// In seconds, as SWAG documents `duration`.
    pub(crate) duration: u64,
}

/// A DatePicker with the captured values filled in.
#[derive(Debug, Clone)]
pub(crate) struct RenderedDatePicker {
    pub(crate) content: Value,
    pub(crate) times: Vec<jiff::Timestamp>,
}

impl DatePickerTemplate {
    /// The `content` item, as Genesys' captures show it:
    /// `{"contentType":"DatePicker","datePicker":{"title","subtitle"?,"imageUrl"?,"availableTimes":[{"dateTime","duration"}]}}`.
    /// Times are written in UTC (`2030-01-15T09:00:00Z`).
    pub(crate) fn render(&self, captures: &super::Captures) -> RenderedDatePicker {
        let mut picker = Map::new();
        picker.insert("title".into(), self.title.render(captures).into());
        if let Some(subtitle) = &self.subtitle {
            picker.insert("subtitle".into(), subtitle.render(captures).into());
        }
        if let Some(image) = &self.image_url {
            picker.insert("imageUrl".into(), image.render(captures).into());
        }
        let times: Vec<Value> = self
            .slots
            .iter()
            .map(|slot| json!({"dateTime": slot.at.to_string(), "duration": slot.duration}))
            .collect();
        picker.insert("availableTimes".into(), times.into());
        RenderedDatePicker {
            content: json!({"contentType": "DatePicker", "datePicker": picker}),
            times: self.slots.iter().map(|slot| slot.at).collect(),
        }
    }
}

/// The `datePicked` condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DatePicked {
    /// Any time the DatePicker offered.
    Any,
    /// This time (compared as instants, so `…T09:00:00Z` and `…T10:00:00+01:00` are equal).
    At(jiff::Timestamp),
}

/// The guest's answer to a DatePicker, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DatePick {
    /// The time picked, when it is one the DatePicker named by `originatingMessageId`
    /// offered; `None` for any other DatePicker response.
    pub(crate) offered: Option<jiff::Timestamp>,
}

impl DatePicked {
    pub(crate) fn holds(&self, pick: Option<DatePick>) -> bool {
        match (self, pick.and_then(|p| p.offered)) {
            (_, None) => false,
            (DatePicked::Any, Some(_)) => true,
            (DatePicked::At(expected), Some(picked)) => *expected == picked,
        }
    }
}

/// Parses an ISO-8601 / RFC 3339 instant with an offset (`Z` or `+01:00`).
pub(crate) fn parse_time(text: &str) -> Option<jiff::Timestamp> {
    text.trim().parse::<jiff::Timestamp>().ok()
}

pub(super) fn compile_date_picked(
    value: &Spanned<String>,
    file: &str,
    key: &str,
) -> Result<DatePicked, FlowError> {
    if value.value.trim() == "any" {
        return Ok(DatePicked::Any);
    }
    parse_time(&value.value).map(DatePicked::At).ok_or_else(|| {
        at(
            file,
            &value.referenced,
            key.to_string(),
            format!(
                "must be `any` or a date and time with an offset, such as \
                 2030-01-15T09:00:00Z (got `{}`)",
                value.value
            ),
        )
    })
}

pub(super) fn compile_date_picker(
    picker: &Spanned<RawDatePicker>,
    cx: &Context<'_>,
    key: &str,
) -> Result<DatePickerTemplate, FlowError> {
    let raw = &picker.value;
    let location = &picker.referenced;
    if raw.title.is_empty() {
        return Err(at(
            cx.file,
            location,
            format!("{key}.title"),
            "is empty: a DatePicker needs a title".into(),
        ));
    }
    let times = &raw.available_times;
    if times.value.is_empty() {
        return Err(at(
            cx.file,
            &times.referenced,
            format!("{key}.availableTimes"),
            "is empty: a DatePicker needs at least one time".into(),
        ));
    }
    if times.value.len() > MAX_SLOTS {
        return Err(at(
            cx.file,
            &times.referenced,
            format!("{key}.availableTimes"),
            format!(
                "has too many times: at most {MAX_SLOTS} (got {})",
                times.value.len()
            ),
        ));
    }
    let mut slots = Vec::with_capacity(times.value.len());
    for (i, slot) in times.value.iter().enumerate() {
        let key = format!("{key}.availableTimes[{i}]");
        let instant = parse_time(&slot.value.date_time).ok_or_else(|| {
            at(
                cx.file,
                &slot.referenced,
                format!("{key}.dateTime"),
                format!(
                    "must be a date and time with an offset, such as 2030-01-15T09:00:00Z \
                     (got `{}`)",
                    slot.value.date_time
                ),
            )
        })?;
        let duration = &slot.value.duration;
        if duration.value == 0 || duration.value > MAX_SLOT_SECONDS {
            return Err(at(
                cx.file,
                &duration.referenced,
                format!("{key}.duration"),
                format!(
                    "must be from 1 to {MAX_SLOT_SECONDS} seconds (31 days) (got {})",
                    duration.value
                ),
            ));
        }
        slots.push(Slot {
            at: instant,
            duration: duration.value,
        });
    }
    let optional = |text: &Option<String>, field: &str| {
        text.as_ref()
            .map(|t| template(t, location, &format!("{key}.{field}"), cx))
            .transpose()
    };
    Ok(DatePickerTemplate {
        title: template(&raw.title, location, &format!("{key}.title"), cx)?,
        subtitle: optional(&raw.subtitle, "subtitle")?,
        image_url: optional(&raw.image_url, "imageUrl")?,
        slots,
    })
}

pub(super) fn compile_attachment(
    attachment: &Spanned<RawAttachment>,
    cx: &Context<'_>,
    key: &str,
) -> Result<AttachmentTemplate, FlowError> {
    let raw = &attachment.value;
    let location = &attachment.referenced;
    if raw.filename.trim().is_empty() {
        return Err(at(
            cx.file,
            location,
            format!("{key}.filename"),
            "is empty: an attachment needs a file name".into(),
        ));
    }
    let media_type = MEDIA_TYPES
        .iter()
        .find(|m| **m == raw.media_type.value)
        .copied()
        .ok_or_else(|| {
            at(
                cx.file,
                &raw.media_type.referenced,
                format!("{key}.mediaType"),
                format!(
                    "must be one of {} (got `{}`)",
                    MEDIA_TYPES.join(", "),
                    raw.media_type.value
                ),
            )
        })?;
    let mime = match &raw.mime {
        None if media_type != "Link" => {
            return Err(at(
                cx.file,
                location,
                format!("{key}.mime"),
                format!(
                    "is missing: an attachment of type {media_type} needs a `mime` type, such as image/png"
                ),
            ));
        }
        None => None,
        Some(mime) => {
            let shape_ok = mime.split_once('/').is_some_and(|(kind, sub)| {
                !kind.is_empty() && !sub.is_empty() && !mime.chars().any(char::is_whitespace)
            });
            if !shape_ok {
                return Err(at(
                    cx.file,
                    location,
                    format!("{key}.mime"),
                    format!("must be a MIME type such as image/png (got `{mime}`)"),
                ));
            }
            Some(template(mime, location, &format!("{key}.mime"), cx)?)
        }
    };
    let file_size = match &raw.file_size {
        None => None,
        Some(size) if size.value > MAX_FILE_SIZE => {
            return Err(at(
                cx.file,
                &size.referenced,
                format!("{key}.fileSize"),
                format!(
                    "is too large: at most {MAX_FILE_SIZE} bytes (got {})",
                    size.value
                ),
            ));
        }
        Some(size) => Some(size.value),
    };
    let url = match &raw.url {
        None => None,
        Some(url) if !(url.starts_with("https://") || url.starts_with("http://")) => {
            return Err(at(
                cx.file,
                location,
                format!("{key}.url"),
                format!("must be an http:// or https:// URL (got `{url}`)"),
            ));
        }
        Some(url) => Some(template(url, location, &format!("{key}.url"), cx)?),
    };
    Ok(AttachmentTemplate {
        filename: template(&raw.filename, location, &format!("{key}.filename"), cx)?,
        media_type,
        mime,
        file_size,
        url,
    })
}

/// Whether a reply map offers structured content besides an attachment or DatePicker.
pub(super) fn check_alone(
    has_other: bool,
    what: &str,
    location: &Location,
    cx: &Context<'_>,
    key: &str,
) -> Result<(), FlowError> {
    if has_other {
        return Err(at(
            cx.file,
            location,
            format!("{key}.{what}"),
            format!(
                "goes in a message of its own (with an optional `text`): do not combine it \
                 with `quickReplies`, `card`, `carousel`{}",
                if what == "attachment" {
                    " or `datePicker`"
                } else {
                    " or `attachment`"
                }
            ),
        ));
    }
    Ok(())
}
