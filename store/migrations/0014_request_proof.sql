-- Device-local: what checking a third party's domain found (POST /requests
-- with callback_url: the callback on the service's domain answered this
-- request's challenge, or why not), sealed under the installation key like
-- the payload. NULL: the request gave no callback.
ALTER TABLE requests ADD COLUMN proof BLOB;
