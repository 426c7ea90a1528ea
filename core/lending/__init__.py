"""Pure lending engines: repayment schedules and payments, the working-day clock, the application lifecycle."""
