/* {
  "name": "purchase_value_by_segment",
  "collaboration": "demo",
  "description": "What Acme customers in each Northwind audience segment spend.",
  "parameters": {}
} */
SELECT p.segment,
       count(DISTINCT c.email_hash) AS customers,
       round(sum(c.purchase_value), 2) AS total_purchase_value,
       round(avg(c.purchase_value), 2) AS avg_purchase_value
FROM advertiser_customers AS c
JOIN (SELECT DISTINCT email_hash, segment FROM publisher_impressions) AS p ON c.email_hash = p.email_hash
GROUP BY p.segment
ORDER BY p.segment
