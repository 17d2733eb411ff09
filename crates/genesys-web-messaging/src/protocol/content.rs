//! What a message's `content` holds: quick replies, button responses, cards, carousels, date
//! pickers and attachments.

use super::lenient;
use serde::{Deserialize, Serialize};

/// One item of a message's `content`. An item whose type this client does not know keeps its
/// `content_type` and nothing else.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Content {
    /// `QuickReply`, `ButtonResponse`, `Card`, `Carousel`, `DatePicker`, `Attachment`, ...
    #[serde(deserialize_with = "lenient::string")]
    pub content_type: String,
    /// A quick reply offered by the bot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<QuickReply>,
    /// The guest's answer to a quick reply, button or date picker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub button_response: Option<ButtonResponse>,
    /// A card with actions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    /// Several cards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carousel: Option<Carousel>,
    /// Time slots offered by the bot or agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_picker: Option<DatePicker>,
    /// A file: one the bot or agent sent (all fields), or one the guest uploaded (its `id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// A quick reply button offered by the bot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct QuickReply {
    /// The label.
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    /// What is sent back when clicked.
    #[serde(deserialize_with = "lenient::string")]
    pub payload: String,
    /// `Message`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub action: Option<String>,
}

/// The guest's answer to a quick reply, button or date picker.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ButtonResponse {
    /// The label clicked.
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    /// The payload of the option (for a date picker, the slot's `dateTime`).
    #[serde(deserialize_with = "lenient::string")]
    pub payload: String,
    /// `QuickReply`, `Button` or `DatePicker`.
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// The id of the message that offered the option (sent with date-picker answers).
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub originating_message_id: Option<String>,
}

/// A card (title, description, image, actions).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Card {
    /// The title.
    #[serde(deserialize_with = "lenient::string")]
    pub title: String,
    /// The description.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub description: Option<String>,
    /// An image URL.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub image: Option<String>,
    /// Buttons on the card.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub actions: Vec<CardAction>,
}

/// A button on a card.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CardAction {
    /// `Postback` or `Link`.
    #[serde(rename = "type", deserialize_with = "lenient::string")]
    pub kind: String,
    /// The label.
    #[serde(deserialize_with = "lenient::string")]
    pub text: String,
    /// Sent back for `Postback`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub payload: Option<String>,
    /// Opened for `Link`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub url: Option<String>,
}

/// Several cards side by side.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Carousel {
    /// The cards.
    #[serde(deserialize_with = "lenient::list")]
    pub cards: Vec<Card>,
}

/// `DatePicker` content: time slots the guest may choose from.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DatePicker {
    /// The title.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub title: Option<String>,
    /// The subtitle.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub subtitle: Option<String>,
    /// An image URL.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub image_url: Option<String>,
    /// The slots offered.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lenient::list"
    )]
    pub available_times: Vec<TimeSlot>,
}

/// One slot of a date picker.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TimeSlot {
    /// When it starts (ISO-8601), exactly as the bot wrote it: sent back as the answer.
    #[serde(deserialize_with = "lenient::time_string")]
    pub date_time: String,
    /// How long it lasts, in seconds.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub duration: Option<u64>,
}

impl TimeSlot {
    /// Whether this slot starts at `date_time`: the same instant when both are ISO-8601
    /// times (whatever their offsets or precision), else the same text.
    pub fn starts_at(&self, date_time: &str) -> bool {
        match (
            self.date_time.trim().parse::<jiff::Timestamp>(),
            date_time.trim().parse::<jiff::Timestamp>(),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => self.date_time.trim() == date_time.trim(),
        }
    }
}

/// `Attachment` content: a file sent by the bot or an agent, or (with only its `id`) one the
/// guest uploaded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attachment {
    /// The attachment's id.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub id: Option<String>,
    /// The file name, e.g. `invoice.pdf`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub filename: Option<String>,
    /// `Audio`, `File`, `Image`, `Link` or `Video`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub media_type: Option<String>,
    /// The MIME type, e.g. `application/pdf`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub mime: Option<String>,
    /// The size in bytes.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_number"
    )]
    pub file_size: Option<u64>,
    /// Where to download it.
    #[serde(
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub url: Option<String>,
}

/// A content item carrying an uploaded attachment, as the guest sends it:
/// only the id.
pub fn attachment_content(attachment_id: &str) -> Content {
    Content {
        content_type: "Attachment".into(),
        attachment: Some(Attachment {
            id: Some(attachment_id.to_string()),
            ..Attachment::default()
        }),
        ..Content::default()
    }
}
