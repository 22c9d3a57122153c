-- Library: authors write books; members borrow copies (loans). Written for envalign.
CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    born INTEGER
);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES authors(id),
    genre TEXT NOT NULL,
    year INTEGER NOT NULL,
    pages INTEGER NOT NULL,
    copies INTEGER NOT NULL
);
CREATE TABLE members (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    joined TEXT NOT NULL
);
CREATE TABLE loans (
    id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books(id),
    member_id INTEGER NOT NULL REFERENCES members(id),
    loaned TEXT NOT NULL,
    returned TEXT
);
INSERT INTO authors VALUES
 (1, 'Mara Quill', 'Norway', 1950),
 (2, 'Tobias Fenn', 'Ireland', 1972),
 (3, 'Lena Okafor', 'Nigeria', 1981),
 (4, 'Ravi Sandhu', 'India', 1965),
 (5, 'Elsa Brandt', 'Germany', 1990),
 (6, 'Hugo Marin', 'Spain', 1944),
 (7, 'Ines Duarte', 'Portugal', NULL);
INSERT INTO books VALUES
 (1, 'The Salt Road', 1, 'history', 1988, 412, 3),
 (2, 'Northern Lights Fade', 1, 'novel', 1995, 288, 2),
 (3, 'Glass Harbour', 2, 'novel', 2004, 350, 4),
 (4, 'A Short Guide to Bees', 3, 'science', 2015, 160, 5),
 (5, 'River of Clocks', 2, 'fantasy', 2010, 502, 1),
 (6, 'Counting Stars', 4, 'science', 1999, 224, 2),
 (7, 'Monsoon Letters', 4, 'novel', 2008, 310, 3),
 (8, 'Quiet Algorithms', 5, 'science', 2021, 198, 6),
 (9, 'The Last Lighthouse', 6, 'novel', 1979, 275, 1),
 (10, 'Iron and Olive', 6, 'history', 1983, 530, 2),
 (11, 'Seven Doors', 3, 'fantasy', 2019, 441, 3),
 (12, 'Paper Moons', 5, 'fantasy', 2023, 367, 2),
 (13, 'Harbour Songs', 2, 'poetry', 2012, 96, 1),
 (14, 'Tides', 1, 'poetry', 2001, 80, 2);
INSERT INTO members VALUES
 (1, 'Ana Lopes', 'Lisbon', '2019-03-14'),
 (2, 'Ben Carter', 'Dublin', '2020-07-01'),
 (3, 'Chen Wei', 'Dublin', '2018-11-23'),
 (4, 'Dara Singh', 'Oslo', '2021-01-09'),
 (5, 'Eva Novak', 'Lisbon', '2022-05-30'),
 (6, 'Farid Haddad', 'Oslo', '2017-09-12'),
 (7, 'Greta Olsen', 'Oslo', '2023-02-02'),
 (8, 'Hana Ito', 'Madrid', '2020-12-19');
INSERT INTO loans VALUES
 (1, 3, 1, '2023-01-05', '2023-01-20'),
 (2, 8, 1, '2023-02-11', '2023-03-01'),
 (3, 4, 2, '2023-02-14', NULL),
 (4, 5, 3, '2023-03-02', '2023-03-30'),
 (5, 3, 3, '2023-04-10', '2023-04-22'),
 (6, 11, 4, '2023-04-18', NULL),
 (7, 1, 6, '2023-05-01', '2023-06-15'),
 (8, 8, 6, '2023-05-03', '2023-05-20'),
 (9, 12, 5, '2023-06-07', NULL),
 (10, 8, 2, '2023-06-09', '2023-06-25'),
 (11, 7, 8, '2023-07-15', '2023-08-01'),
 (12, 3, 6, '2023-07-20', NULL),
 (13, 9, 1, '2023-08-02', '2023-08-19'),
 (14, 6, 3, '2023-08-28', '2023-09-10'),
 (15, 11, 5, '2023-09-05', '2023-09-30'),
 (16, 8, 4, '2023-10-11', NULL),
 (17, 2, 6, '2023-10-15', '2023-11-02'),
 (18, 4, 1, '2023-11-20', '2023-12-04');
