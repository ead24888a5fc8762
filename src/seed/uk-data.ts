/**
 * Synthetic UK demographic vocabulary shared by the seed generator (src/seed/generate.ts) and the
 * trace quality tests (test/spine/trace-population.ts): common UK family and given names (ONS
 * "Baby names in England and Wales" and surname frequency lists, with Welsh, Scottish, Irish, South
 * Asian, Polish and West African names), UK postcode areas in the Royal Mail format
 * (outward code `AA9`, inward code `9AA` from the letters Royal Mail uses), and the seeded PRNG
 * (mulberry32): the same seed always gives the same data.
 */

/** mulberry32: a small, fast, seeded PRNG returning numbers in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rnd: () => number, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;

export const SURNAMES = [
  'Smith', 'Jones', 'Williams', 'Taylor', 'Brown', 'Davies', 'Evans', 'Wilson', 'Thomas', 'Johnson', 'Roberts', 'Robinson', 'Thompson', 'Wright', 'Walker', 'White',
  'Edwards', 'Hughes', 'Green', 'Hall', 'Lewis', 'Harris', 'Clarke', 'Patel', 'Jackson', 'Wood', 'Turner', 'Martin', 'Cooper', 'Hill', 'Ward', 'Morris', 'Moore', 'Clark',
  'Lee', 'King', 'Baker', 'Harrison', 'Morgan', 'Allen', 'James', 'Scott', 'Phillips', 'Watson', 'Davis', 'Parker', 'Price', 'Bennett', 'Young', 'Griffiths', 'Mitchell',
  'Kelly', 'Cook', 'Carter', 'Richardson', 'Bailey', 'Collins', 'Bell', 'Shaw', 'Murphy', 'Miller', 'Cox', 'Richards', 'Khan', 'Marshall', 'Anderson', 'Simpson', 'Ellis',
  'Adams', 'Singh', 'Begum', 'Wilkinson', 'Foster', 'Chapman', 'Powell', 'Webb', 'Rogers', 'Gray', 'Mason', 'Ali', 'Hunt', 'Hussain', 'Campbell', 'Matthews', 'Owen',
  'Palmer', 'Holmes', 'Mills', 'Barnes', 'Knight', 'Lloyd', 'Butler', 'Russell', 'Barker', 'Fisher', 'Stevens', 'Jenkins', 'Murray', 'Dixon', 'Harvey', 'Graham', 'Pearson',
  'Ahmed', 'Fletcher', 'Walsh', 'Kaur', 'Gibson', 'Howard', 'Andrews', 'Stewart', 'Elliott', 'Reynolds', 'Saunders', 'Payne', 'Fox', 'Ford', 'Pearce', 'Day', 'Brooks',
  'West', 'Lawrence', 'Cole', 'Atkinson', "O'Brien", "O'Neill", 'MacDonald', 'McCarthy', 'Nowak', 'Kowalski', 'Okafor', 'Nguyen', 'Garton', 'Godsoe', 'Attison', 'Massam',
];
export const FEMALE = [
  'Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Ivy', 'Lily', 'Isabella', 'Rosie', 'Sophia', 'Grace', 'Freya', 'Willow', 'Florence', 'Emily', 'Ella', 'Poppy', 'Evie', 'Elsie',
  'Charlotte', 'Evelyn', 'Sienna', 'Sofia', 'Daisy', 'Phoebe', 'Alice', 'Harper', 'Ruby', 'Matilda', 'Sarah', 'Emma', 'Jessica', 'Hannah', 'Laura', 'Rebecca', 'Rachel',
  'Claire', 'Helen', 'Karen', 'Susan', 'Margaret', 'Patricia', 'Elizabeth', 'Mary', 'Jane', 'Anne', 'Catherine', 'Katherine', 'Joanne', 'Nicola', 'Michelle', 'Louise',
  'Amanda', 'Julie', 'Deborah', 'Tracey', 'Dorothy', 'Joan', 'Jean', 'Sheila', 'Pauline', 'Martha', 'Kathy', 'Jackie', 'Jayne', 'Fatima', 'Aisha', 'Priya', 'Zoë', 'Chloé',
];
export const MALE = [
  'Oliver', 'George', 'Noah', 'Arthur', 'Harry', 'Leo', 'Muhammad', 'Jack', 'Charlie', 'Oscar', 'Jacob', 'Henry', 'Thomas', 'Freddie', 'Alfie', 'Theo', 'William', 'Theodore',
  'Archie', 'Joshua', 'Alexander', 'James', 'Isaac', 'Edward', 'Lucas', 'Tommy', 'Finley', 'Max', 'Logan', 'Ethan', 'David', 'John', 'Michael', 'Paul', 'Andrew', 'Mark',
  'Richard', 'Peter', 'Stephen', 'Robert', 'Christopher', 'Daniel', 'Matthew', 'Anthony', 'Kevin', 'Gary', 'Ian', 'Simon', 'Brian', 'Kenneth', 'Ronald', 'Geoffrey',
  'Bill', 'Rodney', 'Carl', 'Adam', 'Ahmed', 'Raj', 'Tomasz', 'Chidi', 'Sean', 'Liam', 'Connor', 'Dylan', 'Rhys', 'Gareth', 'Owain', 'Hamish', 'Callum', 'Ewan',
];
export const AREAS = ['LS', 'M', 'B', 'SW', 'E', 'N', 'NW', 'SE', 'BS', 'CF', 'EH', 'G', 'L', 'S', 'NE', 'OX', 'CB', 'YO', 'HU', 'NG', 'LE', 'CV', 'PL', 'EX', 'BN', 'RG', 'SO', 'PO', 'DE', 'ST'];
export const INWARD_LETTERS = 'ABDEFGHJLNPQRSTUWXYZ';

/** A UK-shaped postcode, e.g. `LS12 3AB`. */
export function postcode(rnd: () => number): string {
  const area = pick(rnd, AREAS);
  const district = 1 + Math.floor(rnd() * 20);
  return `${area}${district} ${Math.floor(rnd() * 10)}${pick(rnd, [...INWARD_LETTERS])}${pick(rnd, [...INWARD_LETTERS])}`;
}

/** A birth date between 1930 and 2020. */
export function birthDate(rnd: () => number): string {
  const t = Date.UTC(1930, 0, 1) + Math.floor(rnd() * (Date.UTC(2020, 11, 31) - Date.UTC(1930, 0, 1)));
  return new Date(t).toISOString().slice(0, 10);
}

