// Where the shop keeps its catalog and orders. Without DATABASE_URL: in memory, as before the
// shop had a database (the catalog is built in, orders live until the process exits). With
// DATABASE_URL=sqlite:<path>: a SQLite file through node:sqlite, whose tables the release's
// migrations create (examples/shop/<release>/migrations/). Each release's code knows only some
// of the orders table's columns, named in SHOP_ORDER_COLUMNS: it writes and reads those alone,
// which is what makes a schema change able to break the release still serving.

const BUILT_IN_PRODUCTS = [
  { id: 'mug', name: 'Blue-green mug', priceCents: 1200 },
  { id: 'shirt', name: 'Zero-downtime shirt', priceCents: 2500 },
  { id: 'sticker', name: 'Rollback sticker', priceCents: 300 },
];
const MEMORY_ORDERS_KEPT = 100;
const ORDERS_LISTED = 50;
const BUSY_TIMEOUT_MS = 5_000;
const MAX_TEXT_CHARS = 500;

/** Every orders column some release knows, and how an order fills it. */
const COLUMN_VALUES = {
  customer: (order) => order.customer,
  customer_name: (order) => order.customer,
  items: (order) => JSON.stringify(order.items),
  total_cents: (order) => order.totalCents,
  created_at: (order) => order.createdAt,
  note: (order) => order.note,
  channel: (order) => order.channel,
};
export const DEFAULT_ORDER_COLUMNS = ['customer', 'items', 'total_cents', 'created_at'];

/** An order the client got wrong (400), as opposed to a database failure (500). */
export class OrderError extends Error {}

/** Reads SHOP_ORDER_COLUMNS (comma or space separated); throws naming an unknown column. */
export function parseOrderColumns(text) {
  if (text === undefined || text.trim() === '') return DEFAULT_ORDER_COLUMNS;
  const columns = text.split(/[\s,]+/).filter((column) => column !== '');
  for (const column of columns) {
    if (!(column in COLUMN_VALUES)) {
      throw new Error(
        `SHOP_ORDER_COLUMNS names "${column}"; expected some of ${Object.keys(COLUMN_VALUES).join(', ')}`,
      );
    }
  }
  return columns;
}

/** The SQLite file a `sqlite:<path>` / `file:<path>` URL names (`sqlite:///abs` too). */
export function sqlitePathOf(url) {
  const match = /^(?:sqlite|file):(.*)$/i.exec(url.trim());
  if (match === null || match[1] === '') {
    throw new Error(`DATABASE_URL must be sqlite:<path> or file:<path>, got "${url}"`);
  }
  const path = match[1].startsWith('///') ? match[1].slice(2) : match[1];
  return decodeURIComponent(path.replace(/\?.*$/, ''));
}

export function createMemoryStore(instance) {
  const orders = [];
  let placed = 0;
  return {
    kind: 'memory',
    listProducts: () => BUILT_IN_PRODUCTS,
    placeOrder(body) {
      placed += 1;
      const order = { id: `${instance}-${placed}`, body };
      orders.push(order);
      if (orders.length > MEMORY_ORDERS_KEPT) orders.shift();
      return order;
    },
    listOrders: () => orders.slice(-ORDERS_LISTED).reverse(),
    close() {},
  };
}

/** Opens the SQLite file (created empty if missing: the migrations make the tables). */
export async function createSqliteStore(url, columns) {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(sqlitePathOf(url));
  // Two instances (and the migration runner) share the file: wait for a writer, never fail at once.
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // WAL: readers never hold up a writer's commit (the migration runner's included).
  db.exec('PRAGMA journal_mode = WAL');
  const listed = columns.map((column) => `"${column}"`).join(', ');
  return {
    kind: 'sqlite',
    listProducts() {
      return db
        .prepare('SELECT id, name, price_cents FROM products ORDER BY rowid')
        .all()
        .map((row) => ({ id: row.id, name: row.name, priceCents: row.price_cents }));
    },
    placeOrder(body) {
      const order = normalizeOrder(body, (id) =>
        db.prepare('SELECT price_cents FROM products WHERE id = ?').get(id),
      );
      const values = columns.map((column) => COLUMN_VALUES[column](order));
      const placeholders = columns.map(() => '?').join(', ');
      const result = db
        .prepare(`INSERT INTO orders (${listed}) VALUES (${placeholders})`)
        .run(...values);
      return { id: Number(result.lastInsertRowid), ...pick(order, columns) };
    },
    listOrders() {
      return db
        .prepare(`SELECT id, ${listed} FROM orders ORDER BY id DESC LIMIT ${ORDERS_LISTED}`)
        .all()
        .map((row) => ({ id: row.id, ...fromRow(row, columns) }));
    },
    close: () => db.close(),
  };
}

/** Checks an order's JSON and prices it; `priceOf(id)` finds a product's row. */
function normalizeOrder(body, priceOf) {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new OrderError('an order must be a JSON object like {"items": ["mug"]}');
  }
  const items = body.items ?? [];
  if (!Array.isArray(items) || !items.every((item) => typeof item === 'string')) {
    throw new OrderError('items must be a list of product ids, like ["mug", "sticker"]');
  }
  let totalCents = 0;
  for (const item of items) {
    const row = priceOf(item);
    if (row === undefined) throw new OrderError(`no such product: ${item}`);
    totalCents += row.price_cents;
  }
  return {
    customer: text(body.customer, 'customer') ?? 'guest',
    items,
    totalCents,
    createdAt: new Date().toISOString(),
    note: text(body.note, 'note'),
    channel: text(body.channel, 'channel') ?? 'web',
  };
}

function text(value, field) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length > MAX_TEXT_CHARS) {
    throw new OrderError(`${field} must be a string of at most ${MAX_TEXT_CHARS} characters`);
  }
  return value;
}

const FIELD_OF = {
  customer: 'customer',
  customer_name: 'customer',
  items: 'items',
  total_cents: 'totalCents',
  created_at: 'createdAt',
  note: 'note',
  channel: 'channel',
};

function pick(order, columns) {
  return Object.fromEntries(columns.map((column) => [FIELD_OF[column], order[FIELD_OF[column]]]));
}

function fromRow(row, columns) {
  return Object.fromEntries(
    columns.map((column) => [
      FIELD_OF[column],
      column === 'items' ? JSON.parse(row[column]) : row[column],
    ]),
  );
}
