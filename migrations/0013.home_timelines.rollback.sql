DROP TABLE pulled_authors;
DROP TABLE home_timeline;
DROP TABLE home_timelines;
