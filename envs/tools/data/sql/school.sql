-- School: teachers teach courses; students enrol and get grades. Written for envalign.
CREATE TABLE teachers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    department TEXT NOT NULL,
    hired INTEGER NOT NULL
);
CREATE TABLE courses (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    teacher_id INTEGER REFERENCES teachers(id),
    credits INTEGER NOT NULL
);
CREATE TABLE students (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    year INTEGER NOT NULL CHECK (year BETWEEN 1 AND 4),
    house TEXT NOT NULL
);
CREATE TABLE enrollments (
    student_id INTEGER NOT NULL REFERENCES students(id),
    course_id INTEGER NOT NULL REFERENCES courses(id),
    grade INTEGER,
    PRIMARY KEY (student_id, course_id)
);
INSERT INTO teachers VALUES
 (1, 'Dr. Alder', 'math', 2005),
 (2, 'Ms. Birch', 'physics', 2012),
 (3, 'Mr. Cedar', 'history', 1998),
 (4, 'Dr. Elm', 'math', 2019),
 (5, 'Ms. Fir', 'art', 2021);
INSERT INTO courses VALUES
 (1, 'MATH101', 'Calculus I', 1, 5),
 (2, 'MATH201', 'Linear Algebra', 4, 5),
 (3, 'PHYS101', 'Mechanics', 2, 4),
 (4, 'HIST110', 'Ancient Worlds', 3, 3),
 (5, 'ART100', 'Drawing', 5, 2),
 (6, 'MATH301', 'Topology', 1, 6),
 (7, 'PHYS210', 'Optics', 2, 4),
 (8, 'HIST220', 'Modern Europe', NULL, 3);
INSERT INTO students VALUES
 (1, 'Ada', 1, 'North'),
 (2, 'Bruno', 2, 'South'),
 (3, 'Cleo', 1, 'East'),
 (4, 'Dmitri', 3, 'North'),
 (5, 'Esme', 4, 'West'),
 (6, 'Femi', 2, 'East'),
 (7, 'Gus', 3, 'South'),
 (8, 'Hild', 4, 'North'),
 (9, 'Ivo', 1, 'West');
INSERT INTO enrollments VALUES
 (1, 1, 88), (1, 3, 92), (1, 5, 75),
 (2, 1, 64), (2, 4, 81),
 (3, 1, 95), (3, 2, 90), (3, 3, 85),
 (4, 2, 70), (4, 6, 55), (4, 4, NULL),
 (5, 6, 91), (5, 7, 87), (5, 8, 78),
 (6, 5, 99), (6, 4, 68),
 (7, 3, 59), (7, 7, 73), (7, 2, NULL),
 (8, 6, 84), (8, 8, 90),
 (9, 1, 77);
