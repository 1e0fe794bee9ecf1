/* {
  "name": "audience_overlap_by_segment",
  "collaboration": "demo",
  "description": "How many of Acme's customers Northwind reached in a campaign, by Northwind audience segment.",
  "parameters": {
    "campaign": { "type": "enum", "values": ["spring_sale", "brand_awareness", "retargeting", "holiday"], "description": "Northwind campaign" }
  }
} */
SELECT p.segment,
       count(DISTINCT c.email_hash) AS overlapping_customers,
       count(*) AS impressions
FROM publisher_impressions AS p
JOIN advertiser_customers AS c ON p.email_hash = c.email_hash
WHERE p.campaign = $campaign
GROUP BY p.segment
ORDER BY overlapping_customers DESC
