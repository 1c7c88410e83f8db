-- 0006: SIM PIN attempts, so that a PIN a SIM refused (or may have: an
-- AT+CPIN without an answer) is never entered again after a restart. One
-- row per SIM: sim_key is "iccid:<ICCID>" or "modem:<id>" before the ICCID
-- is known. The PIN itself is never stored: pin_hash is SHA-256(salt || PIN).
CREATE TABLE pin_attempts (
	sim_key       TEXT PRIMARY KEY,
	modem         TEXT NOT NULL,
	iccid         TEXT NOT NULL,
	salt          BLOB NOT NULL,
	pin_hash      BLOB NOT NULL,
	refused       INTEGER NOT NULL CHECK (refused IN (0, 1)),
	attempts_left INTEGER NOT NULL,
	at            INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX pin_attempts_modem ON pin_attempts(modem);
CREATE INDEX pin_attempts_iccid ON pin_attempts(iccid);
