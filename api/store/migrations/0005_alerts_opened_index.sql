-- Retention trims the sightings of alerts opened before the hits' retention cut-off but seen
-- since (a vehicle seen every day keeps its alert open): it finds them by when they opened.
CREATE INDEX alerts_opened ON alerts (opened_at);
