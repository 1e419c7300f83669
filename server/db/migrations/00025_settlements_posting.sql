-- Each settlement run first finishes the statements a crash left posting, of any period
-- (server/services/settlements.ts). There are none but after a crash, so the run's look
-- for them reads this small index instead of every statement ever written.
create index settlements_posting on settlements (payee_account, period_end) where status = 'posting';
