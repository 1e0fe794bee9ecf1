/* {
  "name": "reach_and_frequency",
  "collaboration": "demo",
  "description": "Reach (distinct people) and average frequency (impressions per person) of each Northwind campaign in a date range.",
  "parameters": {
    "from": { "type": "date", "minimum": "2025-01-01", "maximum": "2026-12-31" },
    "to": { "type": "date", "minimum": "2025-01-01", "maximum": "2026-12-31" }
  }
} */
SELECT campaign,
       count(DISTINCT email_hash) AS reach,
       count(*) AS impressions,
       round(count(*) / count(DISTINCT email_hash), 2) AS avg_frequency
FROM publisher_impressions
WHERE impression_date BETWEEN $from AND $to
GROUP BY campaign
ORDER BY campaign
