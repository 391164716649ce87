DROP TABLE follow_emails;
