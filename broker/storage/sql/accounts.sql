-- Every statement of the AccountStore, by name (accounts and access keys).

-- name: create_account
INSERT INTO broker.accounts (account_id, name) VALUES (%(account_id)s, %(name)s)
ON CONFLICT DO NOTHING
RETURNING *;

-- name: get_account
SELECT * FROM broker.accounts WHERE account_id = %(account_id)s;

-- name: list_accounts
SELECT * FROM broker.accounts ORDER BY account_id;

-- name: create_key
INSERT INTO broker.access_keys (access_key_id, account_id, secret_ciphertext, admin)
VALUES (%(access_key_id)s, %(account_id)s, %(ciphertext)s, %(admin)s)
ON CONFLICT (access_key_id) DO NOTHING
RETURNING *;

-- name: claim_marker
-- The first writer of a marker gets a row back; a concurrent writer waits for its commit.
INSERT INTO broker.secrets (name, value) VALUES (%(name)s, %(value)s)
ON CONFLICT (name) DO NOTHING
RETURNING name;

-- name: get_key
SELECT * FROM broker.access_keys WHERE access_key_id = %(access_key_id)s;

-- name: list_keys
SELECT * FROM broker.access_keys
WHERE %(account_id)s::text IS NULL OR account_id = %(account_id)s::text
ORDER BY account_id, created_at, access_key_id;

-- name: set_key_status
UPDATE broker.access_keys SET status = %(status)s
WHERE access_key_id = %(access_key_id)s
RETURNING *;

-- name: set_key_policy
UPDATE broker.access_keys SET policy = %(policy)s
WHERE access_key_id = %(access_key_id)s
RETURNING *;

-- name: delete_key
DELETE FROM broker.access_keys WHERE access_key_id = %(access_key_id)s;

-- name: touch_key
UPDATE broker.access_keys SET last_used_at = now() WHERE access_key_id = %(access_key_id)s;

-- name: all_ciphertexts
SELECT access_key_id, secret_ciphertext FROM broker.access_keys ORDER BY access_key_id;

-- name: replace_ciphertext
UPDATE broker.access_keys SET secret_ciphertext = %(ciphertext)s
WHERE access_key_id = %(access_key_id)s;

-- name: get_secret
SELECT value FROM broker.secrets WHERE name = %(name)s;
