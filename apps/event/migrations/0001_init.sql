create table service_info (
  key text primary key,
  value text not null
);
