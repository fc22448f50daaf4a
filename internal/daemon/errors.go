package daemon

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/hushnet/hush/client"
)

// apiError is the body of every error response:
// {"error":{"code":"not_found","message":"..."}}. The code is stable and
// meant for programs; the message is for people and may change.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// writeList answers a list, or the error that stopped it; an empty list
// is [], never null, so a script can always iterate it.
func writeList[T any](w http.ResponseWriter, items []T, err error) error {
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	writeJSON(w, http.StatusOK, items)
	return nil
}

// errorCodes maps the client library's exported errors (client/errors.go
// names them all) to a status and a stable code. The first match wins, so
// more specific errors come first.
var errorCodes = []struct {
	err    error
	status int
	code   string
}{
	{client.ErrDaemonRunning, http.StatusConflict, "daemon_running"},
	{client.ErrNoAccount, http.StatusConflict, "no_account"},
	{client.ErrAccountExists, http.StatusConflict, "account_exists"},
	{client.ErrWrongPassphrase, http.StatusForbidden, "wrong_passphrase"},
	{client.ErrEmptyPassphrase, http.StatusBadRequest, "empty_passphrase"},
	{client.ErrHomeCorrupt, http.StatusInternalServerError, "home_corrupt"},
	{client.ErrHomeNotEmpty, http.StatusConflict, "home_not_empty"},
	{client.ErrWrongBackupPassphrase, http.StatusForbidden, "wrong_backup_passphrase"},
	{client.ErrEmptyBackupPassphrase, http.StatusBadRequest, "empty_backup_passphrase"},
	{client.ErrBackupCorrupt, http.StatusBadRequest, "backup_corrupt"},
	{client.ErrBackupVersion, http.StatusBadRequest, "backup_version"},
	{client.ErrNoNetwork, http.StatusServiceUnavailable, "no_network"},
	{client.ErrUnreachable, http.StatusServiceUnavailable, "unreachable"},
	{client.ErrNoSwarm, http.StatusServiceUnavailable, "no_swarm"},
	{client.ErrBadAccountID, http.StatusBadRequest, "bad_account_id"},
	{client.ErrUnknownContact, http.StatusNotFound, "unknown_contact"},
	{client.ErrNicknameTaken, http.StatusConflict, "nickname_taken"},
	{client.ErrUnknownGroup, http.StatusNotFound, "unknown_group"},
	{client.ErrGroupFull, http.StatusConflict, "group_full"},
	{client.ErrNotGroupAdmin, http.StatusForbidden, "not_group_admin"},
	{client.ErrNotGroupMember, http.StatusForbidden, "not_group_member"},
	{client.ErrGroupAdminFixed, http.StatusConflict, "group_admin_fixed"},
	{client.ErrBadGroupName, http.StatusBadRequest, "bad_group_name"},
	{client.ErrWaitingForKeys, http.StatusConflict, "waiting_for_keys"},
	{client.ErrNotInChat, http.StatusNotFound, "not_in_chat"},
	{client.ErrBadEmoji, http.StatusBadRequest, "bad_emoji"},
	{client.ErrEmptyQuery, http.StatusBadRequest, "empty_query"},
	{client.ErrNotFound, http.StatusNotFound, "not_found"},
	{client.ErrEmptyMessage, http.StatusBadRequest, "empty_message"},
	{client.ErrAttachmentTooLarge, http.StatusRequestEntityTooLarge, "attachment_too_large"},
	{client.ErrTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{client.ErrCannotUnsend, http.StatusConflict, "cannot_unsend"},
	{client.ErrNotRequest, http.StatusConflict, "not_request"},
	{client.ErrBadTimer, http.StatusBadRequest, "bad_timer"},
	{client.ErrBadProfileName, http.StatusBadRequest, "bad_profile_name"},
	{client.ErrBadNotificationMode, http.StatusBadRequest, "bad_notification_mode"},
	{client.ErrBadNotificationContent, http.StatusBadRequest, "bad_notification_content"},
	{client.ErrUnknownDevice, http.StatusNotFound, "unknown_device"},
	{client.ErrAttachmentExpired, http.StatusGone, "attachment_expired"},
	{client.ErrAttachmentCorrupt, http.StatusUnprocessableEntity, "attachment_corrupt"},
	{client.ErrNotDownloaded, http.StatusConflict, "not_downloaded"},
	{client.ErrNoFileServer, http.StatusServiceUnavailable, "no_file_server"},
	{client.ErrFileServerBusy, http.StatusServiceUnavailable, "file_server_busy"},
	{client.ErrBadFile, http.StatusBadRequest, "bad_file"},
	{client.ErrCallsOff, http.StatusConflict, "calls_off"},
	{client.ErrBlocked, http.StatusConflict, "blocked"},
	{client.ErrNoCall, http.StatusNotFound, "no_call"},
	{client.ErrCallState, http.StatusConflict, "call_state"},
	{client.ErrInCall, http.StatusConflict, "in_call"},
	{client.ErrRelayOnly, http.StatusBadRequest, "relay_only"},
	{client.ErrBadCallMode, http.StatusBadRequest, "bad_call_mode"},
	{client.ErrNoTURN, http.StatusServiceUnavailable, "no_turn"},
}

// writeClientError answers err from the client library. Messages of known
// errors are the library's (they are written for users); an unknown error
// is logged and answered with a generic message, since its text may name
// paths or addresses.
func (d *Daemon) writeClientError(w http.ResponseWriter, err error) {
	for _, e := range errorCodes {
		if errors.Is(err, e.err) {
			writeError(w, e.status, e.code, err.Error())
			return
		}
	}
	var ne *client.NodeError
	if errors.As(err, &ne) {
		writeError(w, http.StatusBadGateway, "node_error", err.Error())
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is too large")
		return
	}
	d.log.Warn("request failed", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error (see the daemon's log)")
}
