//! The wire format of the Web Messaging guest WebSocket API.
//!
//! One definition serves both sides: the guest session serialises [`ClientRequest`]s and decodes
//! [`ServerFrame`]s; the simulator does the opposite. Field names and shapes follow Genesys' own
//! schema (as Genesys documents it and its captures show it). Decoding is tolerant: unknown
//! keys are ignored and unknown classes become [`ServerEvent::Unknown`], because the real service
//! adds fields and classes over time.
//!
//! # Where each frame is defined
//!
//! Every type is re-exported here, so `protocol::X` is the one path to use. The files follow
//! the direction of the frame and what it carries:
//!
//! | file | what it describes | where Genesys describes it |
//! | --- | --- | --- |
//! | `requests.rs` | what the guest sends: [`ClientRequest`] (`configureSession`, `onMessage`, `echo`, `closeSession`, `onAttachment`, `getJwt`, `configureAuthenticatedSession`) and its [`IncomingMessage`] | the reference's requests; the request models (`ConfigureSessionRequest`, `SendMessageRequest`, ...) of the `shyrka-chat` schema in Genesys' Java web-messaging SDK (protocol.md §2.1, §3) |
//! | `envelope.rs` | the envelope of every server frame ([`ServerFrame`]: `type`, `class`, `code`, `body`, `tracingId`), the dispatch on `class` into a [`ServerEvent`], [`decode_server_frame`], the log redaction of frames, the endpoint URL | `BaseMessage` and the `MessageDataType` class list of the same schema (protocol.md §2.2) |
//! | `errors.rs` | error frames: `class: "string"`, `TooManyRequestsErrorMessage`, `SessionExpiredEvent`, `ConnectionClosedEvent` ([`ServerError`]) and the documented codes ([`describe_code`]) | the reference's error codes; the frames in Genesys' mobile transport SDK's test fixtures (protocol.md §4) |
//! | `session_response.rs` | [`SessionResponse`] and the upload limits it carries ([`SessionMediaLimits`]) | `SessionResponse` of the schema; the mobile SDK's fixtures (protocol.md §5.1) |
//! | `message.rs` | a conversation message or event ([`StructuredMessage`]): direction, sender, `channel`, presence and typing events | `StructuredMessage` of the schema; captures of real conversations (protocol.md §5.2, ordering §6) |
//! | `content.rs` | what a message's `content` holds: quick replies, button responses, cards, carousels, date pickers, attachments | the schema's `ContentType` and its content models (protocol.md §5.2) |
//! | `lifecycle.rs` | the frames of uploads, the guest JWT and clearing ([`LifecycleEvent`]), and the history REST page | `PresignedUrlResponse`, `UploadSuccessEvent`, `UploadFailureEvent`, `GenerateUrlError`, `JwtResponse`, `SessionClearedEvent` of the schema; the reference's attachment error codes (protocol.md §3.4, §3.7, §5.3, §9.3) |
//! | `lenient.rs` | the decoding rules shared by every body: `null` as empty, numbers as strings, times as numbers | not Genesys': what this client accepts, and why, is written there |
//!
//! "The reference" is Genesys' WebSocket API page,
//! <https://developer.genesys.cloud/commdigital/digital/webmessaging/websocketapi>; the sections
//! named are those of the project's protocol research notes (`protocol.md`), which give the
//! source of every fact, as the simulator's README cites them.
//!
//! # Why the field attributes repeat
//!
//! Each field carries its own `#[serde(...)]` line (its wire name, when it may be left out, how
//! leniently it is read). That repetition is kept on purpose: read top to bottom, a struct is
//! the wire table of its body, and a macro generating the fields would hide exactly what a
//! reader comes here to check. What is the same for a whole body is said once, on the struct:
//! `#[serde(default)]` where every field may be missing.

mod content;
mod envelope;
mod errors;
mod lenient;
mod lifecycle;
mod message;
mod requests;
mod session_response;

pub use content::{
    Attachment, ButtonResponse, Card, CardAction, Carousel, Content, DatePicker, QuickReply,
    TimeSlot, attachment_content,
};
pub use envelope::{
    FrameError, FrameType, ServerEvent, ServerFrame, decode_server_frame, frame_for_log,
    region_endpoint,
};
pub use errors::{ServerError, TooManyRequests, describe_code};
pub use lifecycle::{
    AttachmentFailure, HistoryPage, JwtResponse, LIFECYCLE_CLASSES, LifecycleEvent,
    PresignedUrlResponse, UploadSuccessEvent, attachment_error_name,
};
pub use message::{
    Agent, Direction, EventKind, MessageEvent, OutgoingChannel, Participant, Sender,
    StructuredMessage,
};
pub use requests::{
    AuthenticationData, ChannelMetadata, ClientRequest, IncomingChannel, IncomingMessage,
};
pub use session_response::{
    AllowedMedia, InboundMedia, MediaFileType, SessionMediaLimits, SessionResponse,
};
