DROP TRIGGER tgr_mutes_notifications ON mutes;
DROP TRIGGER tgr_blocks_notifications ON blocks;
DROP FUNCTION forget_notifications_between();
DROP TRIGGER tgr_users_notification_state ON users;
DROP FUNCTION users_notification_state();
DROP TABLE notification_state;
DROP TABLE notifications;
DROP FUNCTION notifications_unread_changed();
