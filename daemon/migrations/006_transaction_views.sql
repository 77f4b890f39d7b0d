-- 006: transaction-level loans (one row per issue, pseudonymous patron key
-- only) rolled up into the grains analysts use. Months and financial years
-- are taken in UK local time, as libraries count them.

CREATE VIEW core.v_transaction_loans_monthly AS
SELECT t.authority_code,
       a.nice_name AS authority_name,
       t.service_point,
       t.item_type,
       date_trunc('month', t.issued_at AT TIME ZONE 'Europe/London')::date AS month,
       count(*) AS loans,
       count(*) FILTER (WHERE NOT coalesce(t.renewal, false)) AS issues,
       count(*) FILTER (WHERE t.renewal) AS renewals,
       count(DISTINCT t.patron_key) AS borrowers
FROM core.loan_transactions t
LEFT JOIN ref.authority a ON a.code = t.authority_code
GROUP BY 1, 2, 3, 4, 5;
COMMENT ON VIEW core.v_transaction_loans_monthly IS 'Loans from library-system transactions, by service point, item type and month: comparable with core.loans (issues and renewals together)';
COMMENT ON COLUMN core.v_transaction_loans_monthly.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_transaction_loans_monthly.authority_name IS 'Authority name (ref.authority.nice_name)';
COMMENT ON COLUMN core.v_transaction_loans_monthly.service_point IS 'Service point the items were issued at';
COMMENT ON COLUMN core.v_transaction_loans_monthly.item_type IS 'Item type as the library service categorises it';
COMMENT ON COLUMN core.v_transaction_loans_monthly.month IS 'First day of the month (UK local time)';
COMMENT ON COLUMN core.v_transaction_loans_monthly.loans IS 'Issues and renewals';
COMMENT ON COLUMN core.v_transaction_loans_monthly.issues IS 'Issues that were not renewals';
COMMENT ON COLUMN core.v_transaction_loans_monthly.renewals IS 'Renewals';
COMMENT ON COLUMN core.v_transaction_loans_monthly.borrowers IS 'Distinct pseudonymous patrons who borrowed in the month at that service point (not additive across rows)';

CREATE VIEW core.v_transaction_active_users AS
SELECT t.authority_code,
       a.nice_name AS authority_name,
       fy.label AS financial_year,
       count(DISTINCT t.patron_key) AS active_users,
       count(*) AS loans,
       count(*) FILTER (WHERE t.patron_key IS NULL) AS loans_without_patron_key
FROM core.loan_transactions t
JOIN ref.financial_year fy
  ON (t.issued_at AT TIME ZONE 'Europe/London')::date BETWEEN fy.start_date AND fy.end_date
LEFT JOIN ref.authority a ON a.code = t.authority_code
GROUP BY 1, 2, 3;
COMMENT ON VIEW core.v_transaction_active_users IS 'Active users (people who borrowed at least one item) by authority and financial year, counted from pseudonymous patron keys: no personal data is held';
COMMENT ON COLUMN core.v_transaction_active_users.authority_code IS 'ONS GSS code of the library authority';
COMMENT ON COLUMN core.v_transaction_active_users.authority_name IS 'Authority name (ref.authority.nice_name)';
COMMENT ON COLUMN core.v_transaction_active_users.financial_year IS 'Financial year, April to March, e.g. 2023-24';
COMMENT ON COLUMN core.v_transaction_active_users.active_users IS 'Distinct pseudonymous patron keys with at least one loan in the year';
COMMENT ON COLUMN core.v_transaction_active_users.loans IS 'Issues and renewals in the year';
COMMENT ON COLUMN core.v_transaction_active_users.loans_without_patron_key IS 'Loans whose patron key the collector dropped: not counted in active_users';
