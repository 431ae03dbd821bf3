-- A delivery's private payload (the invitation link of an `email` delivery: the token
-- exists nowhere else) and the marker of an attempt in progress (crash safety of email:
-- set before talking to SMTP, cleared when the result is recorded). Both are erased when
-- the delivery ends.
ALTER TABLE outbox_deliveries ADD COLUMN secret JSONB;
ALTER TABLE outbox_deliveries ADD COLUMN attempt_started_at TIMESTAMPTZ;
-- When an admin last revived a dead delivery: `max_age` counts from here, not from the event.
ALTER TABLE outbox_deliveries ADD COLUMN revived_at TIMESTAMPTZ;
