-- Shop: customers place orders of products (order_items). Written for envalign.
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('basic', 'silver', 'gold'))
);
CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    price REAL NOT NULL,
    stock INTEGER NOT NULL
);
CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    ordered TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('placed', 'shipped', 'delivered', 'cancelled'))
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity INTEGER NOT NULL,
    PRIMARY KEY (order_id, product_id)
);
INSERT INTO customers VALUES
 (1, 'Acme Labs', 'France', 'gold'),
 (2, 'Birch & Co', 'Canada', 'silver'),
 (3, 'Cobalt Studio', 'France', 'basic'),
 (4, 'Delta Farms', 'Kenya', 'silver'),
 (5, 'Ember Cafe', 'Canada', 'basic'),
 (6, 'Fjord Tools', 'Norway', 'gold'),
 (7, 'Granite Works', 'Kenya', 'basic');
INSERT INTO products VALUES
 (1, 'Desk Lamp', 'home', 24.5, 40),
 (2, 'Office Chair', 'furniture', 149.0, 12),
 (3, 'Notebook', 'stationery', 3.25, 500),
 (4, 'Standing Desk', 'furniture', 399.0, 5),
 (5, 'Coffee Grinder', 'kitchen', 59.9, 0),
 (6, 'Fountain Pen', 'stationery', 35.0, 60),
 (7, 'Kettle', 'kitchen', 29.0, 25),
 (8, 'Bookshelf', 'furniture', 89.0, 8),
 (9, 'Wall Clock', 'home', 18.75, 0),
 (10, 'Stapler', 'stationery', 7.5, 120);
INSERT INTO orders VALUES
 (1, 1, '2024-01-03', 'delivered'),
 (2, 2, '2024-01-07', 'delivered'),
 (3, 1, '2024-01-19', 'shipped'),
 (4, 3, '2024-02-02', 'cancelled'),
 (5, 4, '2024-02-11', 'delivered'),
 (6, 6, '2024-02-20', 'delivered'),
 (7, 2, '2024-03-01', 'placed'),
 (8, 5, '2024-03-05', 'delivered'),
 (9, 6, '2024-03-14', 'shipped'),
 (10, 1, '2024-03-22', 'placed'),
 (11, 4, '2024-04-01', 'cancelled'),
 (12, 3, '2024-04-09', 'delivered');
INSERT INTO order_items VALUES
 (1, 2, 2), (1, 3, 10),
 (2, 7, 1), (2, 1, 2),
 (3, 4, 1),
 (4, 5, 1),
 (5, 8, 3), (5, 10, 4),
 (6, 2, 4), (6, 6, 2), (6, 3, 20),
 (7, 9, 1),
 (8, 7, 2), (8, 5, 1),
 (9, 4, 2), (9, 8, 1),
 (10, 6, 5),
 (11, 1, 1),
 (12, 3, 6), (12, 10, 2);
