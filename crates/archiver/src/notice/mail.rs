//! Delivering a notice: one MIME message (plain text and HTML alternatives) built once, sent by
//! SMTP (STARTTLS, TLS or plain, with or without a login) or by Amazon SES v2 as a raw message.

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use super::template::Rendered;

/// Why a mail was not sent.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MailError {
    /// The address or the message was refused for good (a 5xx answer, SES's MessageRejected):
    /// sending it again will not help.
    #[error("the mail was refused: {0}")]
    Refused(String),
    /// The mail service could not be reached or answered "try later".
    #[error("the mail service is unavailable: {0}")]
    Unavailable(String),
    /// An address or setting is not valid.
    #[error("{0}")]
    Invalid(String),
}

/// A mail service.
#[async_trait::async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    /// Sends one message.
    async fn send(&self, message: Message) -> Result<(), MailError>;
    /// Where mail goes, for reports (never a password).
    fn describe(&self) -> String;
}

fn mailbox(a: &str, what: &str) -> Result<Mailbox, MailError> {
    a.parse()
        .map_err(|e| MailError::Invalid(format!("the {what} address {a:?} is not valid: {e}")))
}

/// Checks that `address` (`ada@example.edu` or `Ada <ada@example.edu>`) is an address; `what`
/// names it in the error.
pub fn check_address(address: &str, what: &str) -> Result<(), MailError> {
    mailbox(address, what).map(|_| ())
}

/// Builds the message from `from` to `to`.
pub fn message(from: &str, to: &str, mail: &Rendered) -> Result<Message, MailError> {
    Message::builder()
        .from(mailbox(from, "sender")?)
        .to(mailbox(to, "recipient")?)
        .subject(mail.subject.clone())
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .header(ContentTransferEncoding::Base64)
                        .body(mail.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .header(ContentTransferEncoding::Base64)
                        .body(mail.html.clone()),
                ),
        )
        .map_err(|e| MailError::Invalid(format!("the notice could not be composed: {e}")))
}

/// How an SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

impl std::str::FromStr for SmtpSecurity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" | "ssl" => Ok(SmtpSecurity::Tls),
            "none" | "plain" => Ok(SmtpSecurity::None),
            other => Err(format!("{other:?} is not starttls, tls or none")),
        }
    }
}

impl SmtpSecurity {
    /// The usual port.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }
}

/// An SMTP server.
#[derive(Debug)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    described: String,
}

impl SmtpMailer {
    /// A mailer for `host:port`, secured as `security`, logging in when `login` is given.
    pub fn new(
        host: &str,
        port: u16,
        security: SmtpSecurity,
        login: Option<(String, SecretString)>,
    ) -> Result<SmtpMailer, MailError> {
        let tls = || {
            TlsParameters::new(host.to_string())
                .map_err(|e| MailError::Invalid(format!("TLS for {host}: {e}")))
        };
        let tls = match security {
            SmtpSecurity::StartTls => Tls::Required(tls()?),
            SmtpSecurity::Tls => Tls::Wrapper(tls()?),
            SmtpSecurity::None => Tls::None,
        };
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(30)));
        if let Some((user, password)) = login {
            b = b.credentials(Credentials::new(user, password.expose_secret().to_string()));
        }
        Ok(SmtpMailer {
            transport: b.build(),
            described: format!("SMTP {host}:{port} ({security:?})"),
        })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(MailError::Refused(e.to_string())),
            Err(e) => Err(MailError::Unavailable(format!("{}: {e}", self.described))),
        }
    }

    fn describe(&self) -> String {
        self.described.clone()
    }
}

/// Amazon SES (API v2), with the AWS SDK's credentials, region and endpoint settings.
#[derive(Debug)]
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
}

impl SesMailer {
    /// A mailer configured from the environment, as the S3 store is.
    pub async fn from_environment() -> SesMailer {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        SesMailer {
            client: aws_sdk_sesv2::Client::new(&config),
        }
    }
}

#[async_trait::async_trait]
impl Mailer for SesMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        use aws_sdk_sesv2::types::{Destination, EmailContent, RawMessage};
        let to: Vec<String> = message
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect();
        let raw = RawMessage::builder()
            .data(aws_sdk_sesv2::primitives::Blob::new(message.formatted()))
            .build()
            .map_err(|e| MailError::Invalid(e.to_string()))?;
        let sent = self
            .client
            .send_email()
            .set_from_email_address(message.envelope().from().map(ToString::to_string))
            .destination(Destination::builder().set_to_addresses(Some(to)).build())
            .content(EmailContent::builder().raw(raw).build())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) => {
                let service = e.as_service_error();
                let code = service.and_then(|s| {
                    aws_sdk_sesv2::error::ProvideErrorMetadata::code(s).map(str::to_string)
                });
                let detail = match service {
                    Some(s) => format!(
                        "SES {}: {}",
                        code.as_deref().unwrap_or("error"),
                        aws_sdk_sesv2::error::ProvideErrorMetadata::message(s).unwrap_or("")
                    ),
                    None => format!(
                        "SES could not be reached: {}",
                        aws_sdk_sesv2::error::DisplayErrorContext(&e)
                    ),
                };
                match code.as_deref() {
                    Some(
                        "MessageRejected"
                        | "BadRequestException"
                        | "MailFromDomainNotVerifiedException"
                        | "AccountSuspendedException"
                        | "NotFoundException",
                    ) => Err(MailError::Refused(detail)),
                    _ => Err(MailError::Unavailable(detail)),
                }
            }
        }
    }

    fn describe(&self) -> String {
        "Amazon SES".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_is_one_message_with_a_text_and_an_html_part() {
        let r = Rendered {
            subject: "2 recordings".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
        };
        let m = message("Media Team <media@example.edu>", "ada@example.edu", &r).unwrap();
        let raw = String::from_utf8(m.formatted()).unwrap();
        assert!(raw.contains("Subject: 2 recordings"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        let e = message("media@example.edu", "not an address", &r).unwrap_err();
        assert!(matches!(e, MailError::Invalid(m) if m.contains("recipient")));
    }

    #[test]
    fn smtp_security_reads_the_usual_words() {
        assert_eq!("STARTTLS".parse(), Ok(SmtpSecurity::StartTls));
        assert_eq!("ssl".parse(), Ok(SmtpSecurity::Tls));
        assert_eq!("none".parse::<SmtpSecurity>().unwrap().default_port(), 25);
        assert!("maybe".parse::<SmtpSecurity>().is_err());
    }
}
