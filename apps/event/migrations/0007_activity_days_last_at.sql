-- The latest fact a daily counter holds, or a time no earlier: a window whose end is still ahead reads
-- its last day from the counter only while that day holds no fact at or after the window's end
-- (facts the platform records itself have no future bound). Counters kept so far take the end of
-- their day; counters back-filled from buckets take the end of their latest bucket.
alter table activity_days add column last_at timestamptz;
--> statement-breakpoint
update activity_days set last_at = (day + 1)::timestamp at time zone timezone;
--> statement-breakpoint
alter table activity_days alter column last_at set not null;
