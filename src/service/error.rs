//! The service's one error type: a refusal the person must hear about, or a fault of ours.

use crate::domain::Refusal;

/// A request the person must fix or cannot make; shown to them alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    /// A rule of the domain turned the request down; `version` is the release it was about.
    Refused {
        version: String,
        refusal: Refusal,
    },
    InvalidInput(String),
    StaleCard,
    AlreadyHandled,
    /// The interaction came from another server, or from a direct message.
    OutsideGuild,
    /// The request waited past Discord's deadline, or its sender left: nothing was written.
    TooLate,
    /// Background work asked under a term that is over (`None`: by a replica that does not
    /// lead): a newer leader does it now. Only the leader's own loops ever meet this.
    Fenced {
        term: Option<i64>,
        current: i64,
    },
}

/// What a service call can fail with. `?` turns any internal failure into `Internal`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("refused: {0:?}")]
    User(UserError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<UserError> for Error {
    fn from(error: UserError) -> Error {
        Error::User(error)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The user error for `refusal` of a request about `version`.
pub fn refused(version: &impl ToString, refusal: Refusal) -> UserError {
    UserError::Refused {
        version: version.to_string(),
        refusal,
    }
}
