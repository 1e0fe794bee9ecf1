/* {
  "name": "conversion_lift",
  "collaboration": "demo",
  "description": "Conversion rate of Acme customers exposed to a Northwind campaign against those who were not.",
  "parameters": {
    "campaign": { "type": "enum", "values": ["spring_sale", "brand_awareness", "retargeting", "holiday"] }
  }
} */
SELECT CASE WHEN c.email_hash IN (SELECT p.email_hash FROM publisher_impressions AS p WHERE p.campaign = $campaign)
            THEN 'exposed' ELSE 'unexposed' END AS exposure,
       count(*) AS customers,
       sum(c.converted) AS conversions,
       round(100 * avg(c.converted), 2) AS conversion_rate_pct
FROM advertiser_customers AS c
GROUP BY exposure
ORDER BY exposure
