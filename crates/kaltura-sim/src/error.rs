//! Kaltura API exceptions: the codes, argument lists and message templates of the real service
//! (kaltura-api.md §11). Every failing action returns one of these; it is rendered with HTTP 200.

/// One Kaltura API exception (`KalturaAPIException`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The error code, e.g. `ENTRY_ID_NOT_FOUND` (a few contain spaces).
    pub code: String,
    /// The message, built from the template by substituting `@ARG@` placeholders.
    pub message: String,
    /// Argument name → value, in template order.
    pub args: Vec<(String, String)>,
}

impl ApiError {
    /// Builds an error from a code, a message template and its arguments.
    pub fn new(code: &str, template: &str, args: &[(&str, &str)]) -> Self {
        let mut message = template.to_string();
        for (name, value) in args {
            message = message.replace(&format!("@{name}@"), value);
        }
        ApiError {
            code: code.to_string(),
            message,
            args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The error as the JSON object of the wire format (`args` is `[]` when empty, as PHP does).
    pub fn to_json(&self) -> serde_json::Value {
        let args = if self.args.is_empty() {
            serde_json::Value::Array(vec![])
        } else {
            serde_json::Value::Object(
                self.args
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into()))
                    .collect(),
            )
        };
        serde_json::json!({
            "code": self.code,
            "message": self.message,
            "objectType": "KalturaAPIException",
            "args": args,
        })
    }
}

/// Result of one API action.
pub type ApiResult<T> = Result<T, ApiError>;

/// Constructors for the errors the simulator produces, one per code.
pub mod codes {
    use super::ApiError;

    /// `INVALID_KS` for a malformed, expired (`EXPIRED`) or ended (`LOGOUT`) session.
    pub fn invalid_ks(ksid: &str) -> ApiError {
        ApiError::new(
            "INVALID_KS",
            "Invalid KS \"@KSID@\", Error \"@ERR_CODE@,@ERR_DESC@\"",
            &[
                ("KSID", ksid),
                ("ERR_CODE", "-1"),
                ("ERR_DESC", "INVALID_STR"),
            ],
        )
    }
    /// `SERVICE_FORBIDDEN`: no KS on an action that needs one.
    pub fn service_forbidden(service: &str, action: &str) -> ApiError {
        let s = format!("{service}->{action}");
        ApiError::new(
            "SERVICE_FORBIDDEN",
            "The access to service [@SERVICE@] is forbidden",
            &[("SERVICE", &s)],
        )
    }
    /// `START_SESSION_ERROR`: wrong secret or partner.
    pub fn start_session_error(pid: &str) -> ApiError {
        ApiError::new(
            "START_SESSION_ERROR",
            "Error while starting session for partner [@PID@]",
            &[("PID", pid)],
        )
    }
    /// `SERVICE_DOES_NOT_EXISTS`.
    pub fn service_does_not_exist(service: &str) -> ApiError {
        ApiError::new(
            "SERVICE_DOES_NOT_EXISTS",
            "Service \"@SRV_NAME@\" does not exists",
            &[("SRV_NAME", service)],
        )
    }
    /// `ACTION_DOES_NOT_EXISTS`.
    pub fn action_does_not_exist(action: &str, service: &str) -> ApiError {
        ApiError::new(
            "ACTION_DOES_NOT_EXISTS",
            "Action \"@ACTION_NAME@\" does not exists for service \"@SERVICE_NAME@\"",
            &[("ACTION_NAME", action), ("SERVICE_NAME", service)],
        )
    }
    /// `MISSING_MANDATORY_PARAMETER`.
    pub fn missing_parameter(name: &str) -> ApiError {
        ApiError::new(
            "MISSING_MANDATORY_PARAMETER",
            "Missing parameter \"@PARAM_NAME@\"",
            &[("PARAM_NAME", name)],
        )
    }
    /// `INVALID_ENUM_VALUE`.
    pub fn invalid_enum(value: &str, param: &str, enum_type: &str) -> ApiError {
        ApiError::new(
            "INVALID_ENUM_VALUE",
            "Invalid enumeration value \"@ENUM_VAL@\" for parameter \"@PARAM_NAME@\", expecting enumeration type \"@ENUM_TYPE@\"",
            &[("ENUM_VAL", value), ("PARAM_NAME", param), ("ENUM_TYPE", enum_type)],
        )
    }
    /// `CAPTION_ASSET_ID_NOT_FOUND`: a caption asset the partner does not have.
    pub fn caption_asset_id_not_found(id: &str) -> ApiError {
        ApiError::new(
            "CAPTION_ASSET_ID_NOT_FOUND",
            "Caption asset id \"@ID@\" not found",
            &[("ID", id)],
        )
    }
    /// `INVALID_USER_ID`: `user.get` of a user the partner does not have.
    pub fn invalid_user_id() -> ApiError {
        ApiError::new("INVALID_USER_ID", "Invalid user id", &[])
    }
    /// `OBJECT_TYPE_ABSTRACT`: an abstract parameter without `objectType`.
    pub fn object_type_abstract(obj_type: &str) -> ApiError {
        ApiError::new(
            "OBJECT_TYPE_ABSTRACT",
            "The object type \"@OBJ_TYPE@\" is abstract, use one of the object implementations",
            &[("OBJ_TYPE", obj_type)],
        )
    }
    /// `PROPERTY_VALIDATION_CANNOT_BE_NULL`.
    pub fn cannot_be_null(prop: &str) -> ApiError {
        ApiError::new(
            "PROPERTY_VALIDATION_CANNOT_BE_NULL",
            "The property \"@PROP_NAME@\" cannot be null",
            &[("PROP_NAME", prop)],
        )
    }
    /// `PROPERTY_VALIDATION_NOT_UPDATABLE`.
    pub fn not_updatable(prop: &str) -> ApiError {
        ApiError::new(
            "PROPERTY_VALIDATION_NOT_UPDATABLE",
            "The property \"@PROP_NAME@\" cannot be updated",
            &[("PROP_NAME", prop)],
        )
    }
    /// `ENTRY_ID_NOT_FOUND`.
    pub fn entry_not_found(id: &str) -> ApiError {
        ApiError::new(
            "ENTRY_ID_NOT_FOUND",
            "Entry id \"@ENTRY_ID@\" not found",
            &[("ENTRY_ID", id)],
        )
    }
    /// `INVALID_ENTRY_TYPE`.
    pub fn invalid_entry_type(name: &str, wrong: &str, right: &str) -> ApiError {
        ApiError::new(
            "INVALID_ENTRY_TYPE",
            "Entry \"@ENTRY_NAME@\" type is \"@WRONG_ENTRY_TYPE@\", type must be \"@RIGHT_ENTRY_TYPE@\"",
            &[("ENTRY_NAME", name), ("WRONG_ENTRY_TYPE", wrong), ("RIGHT_ENTRY_TYPE", right)],
        )
    }
    /// `ENTRY_ALREADY_WITH_CONTENT`: addContent on an entry that is not NO_CONTENT.
    pub fn entry_already_with_content() -> ApiError {
        ApiError::new(
            "ENTRY_ALREADY_WITH_CONTENT",
            "Entry already associated with content",
            &[],
        )
    }
    /// `ENTRY_REPLACEMENT_ALREADY_EXISTS`.
    pub fn replacement_already_exists() -> ApiError {
        ApiError::new(
            "ENTRY_REPLACEMENT_ALREADY_EXISTS",
            "Entry already in replacement",
            &[],
        )
    }
    /// `ENTRY_ID_NOT_REPLACED`.
    pub fn entry_not_replaced(id: &str) -> ApiError {
        ApiError::new(
            "ENTRY_ID_NOT_REPLACED",
            "Entry id \"@ENTRY_ID@\" not replaced",
            &[("ENTRY_ID", id)],
        )
    }
    /// `FEATURE_FORBIDDEN`.
    pub fn feature_forbidden(feature: &str) -> ApiError {
        ApiError::new(
            "FEATURE_FORBIDDEN",
            "The usage of feature [@FEATURE@] is forbidden",
            &[("FEATURE", feature)],
        )
    }
    /// `FLAVOR_ASSET_ID_NOT_FOUND`.
    pub fn flavor_not_found(id: &str) -> ApiError {
        ApiError::new(
            "FLAVOR_ASSET_ID_NOT_FOUND",
            "Flavor asset id \"@ID@\" not found",
            &[("ID", id)],
        )
    }
    /// `FLAVOR_ASSET_IS_NOT_READY`.
    pub fn flavor_not_ready() -> ApiError {
        ApiError::new(
            "FLAVOR_ASSET_IS_NOT_READY",
            "The flavor asset is not ready",
            &[],
        )
    }
    /// `UPLOAD_TOKEN_NOT_FOUND`.
    pub fn upload_token_not_found() -> ApiError {
        ApiError::new("UPLOAD_TOKEN_NOT_FOUND", "Upload token not found", &[])
    }
    /// `UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD`.
    pub fn upload_token_invalid_status() -> ApiError {
        ApiError::new(
            "UPLOAD_TOKEN_INVALID_STATUS_FOR_UPLOAD",
            "Upload token is in an invalid status for uploading a file, maybe the file was already uploaded",
            &[],
        )
    }
    /// `UPLOAD_TOKEN_CANNOT_RESUME`.
    pub fn upload_token_cannot_resume() -> ApiError {
        ApiError::new(
            "UPLOAD_TOKEN_CANNOT_RESUME",
            "Cannot resume the upload, original file was not found",
            &[],
        )
    }
    /// `UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE`.
    pub fn upload_cannot_match_size() -> ApiError {
        ApiError::new(
            "UPLOAD_TOKEN_CANNOT_MATCH_EXPECTED_SIZE",
            "Failed to match expected file size",
            &[],
        )
    }
    /// `MAX_ALLOWED_CHUNK_COUNT_EXCEEDED`.
    pub fn max_chunk_count() -> ApiError {
        ApiError::new(
            "MAX_ALLOWED_CHUNK_COUNT_EXCEEDED",
            "Max allowed waiting chunks to be concatenated has exceeded allowed limit",
            &[],
        )
    }
    /// `UPLOAD_ERROR`: broken file part or no filename.
    pub fn upload_error() -> ApiError {
        ApiError::new("UPLOAD_ERROR", "Upload failed", &[])
    }
    /// `QUERY_EXCEEDED_MAX_MATCHES_ALLOWED`: list offset at or past 10,000.
    pub fn query_exceeded_max_matches() -> ApiError {
        ApiError::new(
            "QUERY_EXCEEDED_MAX_MATCHES_ALLOWED",
            "Unable to generate list. max matches value was reached",
            &[],
        )
    }
    /// `CRITERIA EXCEEDED MAX MATCHES ALLOWED` (eSearch; the code contains spaces).
    pub fn criteria_exceeded_max_matches() -> ApiError {
        ApiError::new(
            "CRITERIA EXCEEDED MAX MATCHES ALLOWED",
            "Unable to generate list. max matches value was reached",
            &[],
        )
    }
    /// `SEARCH_TYPE_NOT_ALLOWED_ON_FIELD` (eSearch; the template starts with a space).
    pub fn search_type_not_allowed(item_type: &str, field: &str) -> ApiError {
        ApiError::new(
            "SEARCH_TYPE_NOT_ALLOWED_ON_FIELD",
            " Type of search [@TYPE@] not allowed on specific field [@FIELD@]",
            &[("TYPE", item_type), ("FIELD", field)],
        )
    }
    /// `EMPTY SEARCH TERM IS NOT ALLOWED` (eSearch).
    pub fn empty_search_term(field: &str, item_type: &str) -> ApiError {
        ApiError::new(
            "EMPTY SEARCH TERM IS NOT ALLOWED",
            " Empty search term is not allowed on Field [@FIELD@] and search type [@TYPE@]",
            &[("FIELD", field), ("TYPE", item_type)],
        )
    }
    /// `MISSING OPERATOR TYPE` (eSearch).
    pub fn missing_operator_type() -> ApiError {
        ApiError::new("MISSING OPERATOR TYPE", "Missing operator type", &[])
    }
    /// `EMPTY SEARCH ITEMS ARE NOT ALLOWED` (eSearch).
    pub fn empty_search_items() -> ApiError {
        ApiError::new(
            "EMPTY SEARCH ITEMS ARE NOT ALLOWED",
            "Empty search items are not allowed",
            &[],
        )
    }
    /// `INTERNAL_SERVERL_ERROR` (sic: the API-level spelling).
    pub fn internal_serverl_error() -> ApiError {
        ApiError::new(
            "INTERNAL_SERVERL_ERROR",
            "Internal server error occurred",
            &[],
        )
    }
    /// `LOCK_TIMED_OUT` (transient).
    pub fn lock_timed_out() -> ApiError {
        ApiError::new(
            "LOCK_TIMED_OUT",
            "Timed out while attempting to grab lock",
            &[],
        )
    }
    /// `ACTION_BLOCKED` (rate limiting).
    pub fn action_blocked(action: &str, service: &str) -> ApiError {
        ApiError::new(
            "ACTION_BLOCKED",
            "Action \"@ACTION_NAME@\" in service \"@SERVICE_NAME@\" is blocked",
            &[("ACTION_NAME", action), ("SERVICE_NAME", service)],
        )
    }
    /// `UNKNOWN_RESPONSE_FORMAT`.
    pub fn unknown_response_format(format: &str) -> super::ApiError {
        ApiError::new(
            "UNKNOWN_RESPONSE_FORMAT",
            "Response format provided [@FORMAT@] is not recognized by server",
            &[("FORMAT", format)],
        )
    }
}
