DROP TABLE account_tokens;
ALTER TABLE users
    DROP COLUMN session_generation,
    DROP COLUMN email_verified_at,
    DROP COLUMN avatar_image_id,
    DROP COLUMN bio,
    DROP COLUMN display_name;
